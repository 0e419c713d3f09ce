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
