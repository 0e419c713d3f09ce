"""Standard Webhooks signatures: slett's signer and verifier agree with the reference library both ways."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triggers.conftest import NOW, OTHER_SECRET, SECRET, event, key
from triggers.signature import SignatureError, sign, verify


def test_our_signature_is_the_reference_librarys():
    """For the same id, timestamp and body, slett signs exactly as the reference library does."""
    body = event()

    expected = standardwebhooks.Webhook(SECRET).sign("msg_1", datetime.fromtimestamp(NOW, UTC), body.decode())

    assert expected == sign(key(SECRET), "msg_1", NOW, body)


def test_the_reference_library_verifies_what_we_sign():
    """A message signed by slett (the sandbox's sender uses the same scheme) passes the reference verifier."""
    body = event()
    now = int(datetime.now(UTC).timestamp())
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(now),
               "webhook-signature": sign(key(SECRET), "msg_2", now, body)}

    assert json.loads(body) == standardwebhooks.Webhook(SECRET).verify(body, headers)


def test_verify_returns_the_id_and_timestamp():
    """A good message yields its webhook id and timestamp."""
    body = event()
    headers = {"webhook-id": "msg_3", "webhook-timestamp": str(NOW),
               "webhook-signature": sign(key(SECRET), "msg_3", NOW, body)}

    signed = verify([key(OTHER_SECRET), key(SECRET)], headers, body, NOW, 300)

    assert ("msg_3", NOW) == (signed.webhook_id, signed.timestamp)


def test_a_different_body_does_not_verify():
    """One byte more in the body and the signature no longer matches."""
    body = event()
    headers = {"webhook-id": "msg_4", "webhook-timestamp": str(NOW),
               "webhook-signature": sign(key(SECRET), "msg_4", NOW, body)}

    with pytest.raises(SignatureError, match="no signature matches"):
        verify([key(SECRET)], headers, body + b" ", NOW, 300)


header_text = st.text(st.characters(codec="latin-1"), max_size=200)


@settings(max_examples=300, deadline=None)
@given(webhook_id=header_text, timestamp=header_text, signature=header_text, body=st.binary(max_size=200))
def test_any_header_values_are_refused_with_signature_error_only(webhook_id, timestamp, signature, body):
    """Whatever the three headers hold, verify either accepts or raises SignatureError, never anything else."""
    headers = {"webhook-id": webhook_id, "webhook-timestamp": timestamp, "webhook-signature": signature}

    try:
        verify([key(SECRET)], headers, body, NOW, 300)
    except SignatureError as error:
        assert str(error)
