"""Artifact keys: one per request id, in the alphabet Prefect accepts, unchanged for ids already in it."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from domain.values import artifact_key

KEY = re.compile(r"^[a-z0-9-]+$")
PLAIN = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?", fullmatch=True)
ANY = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@given(ANY, ANY)
def test_distinct_request_ids_get_distinct_keys(one, other):
    """Two request ids that differ in anything (case, '.', '_', any character) never share a key."""
    assert (one == other) == (artifact_key("erasure", one) == artifact_key("erasure", other))


@given(st.one_of(ANY, PLAIN))
def test_every_key_is_one_prefect_accepts(request_id):
    """Every key is lowercase letters, digits and dashes, and starts with its prefix."""
    key = artifact_key("evidence", request_id)

    assert (True, True) == (bool(KEY.match(key)), key.startswith("evidence-"))


@given(PLAIN)
def test_ids_already_in_the_alphabet_keep_their_key(request_id):
    """An id of lowercase letters, digits and inner dashes keeps the key it always had: prefix-id."""
    assert f"letter-{request_id}" == artifact_key("letter", request_id)


def test_ids_normalisation_once_folded_together_are_kept_apart():
    """'Demo_M1.1', 'demo-m1-1' and 'DEMO.M1_1' were one key; now only the already-plain one keeps it."""
    keys = [artifact_key("erasure", rid) for rid in ("Demo_M1.1", "demo-m1-1", "DEMO.M1_1")]

    assert 3 == len(set(keys))
    assert "erasure-demo-m1-1" == keys[1]
    assert all(key.startswith("erasure-demo-m1-1-") for key in (keys[0], keys[2]))


def test_a_contact_reference_is_keyed_per_chain_and_channel_and_names_no_value():
    """The same address however written (case, spaces) and the same number however written (+47, 0047, spaces)
    give one reference; another chain, channel or key gives another; the reference holds no part of the value."""
    from pydantic import SecretStr

    from domain.values import contact_reference

    key, other_key = SecretStr("k" * 32), SecretStr("o" * 32)
    email = {contact_reference(key, "demo", "email", v)
             for v in ("Kari.Nordmann@Example.no", " kari.nordmann@example.no ")}
    phone = {contact_reference(key, "demo", "phone", v) for v in ("+47 912 34 567", "0047 91234567", "91234567")}

    assert 1 == len(email) == len(phone)
    assert len({*email, contact_reference(key, "k24", "email", "kari.nordmann@example.no"),
                contact_reference(other_key, "demo", "email", "kari.nordmann@example.no"),
                contact_reference(key, "demo", "phone", "kari.nordmann@example.no")}) == 4
    assert [] == [r for r in email | phone if "kari" in r or "91234567" in r]
