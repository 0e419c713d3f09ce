"""Standard Webhooks 1.0 signatures: HMAC-SHA256 over "id.timestamp.body", checked before parsing."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WEBHOOK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
# A sender may list a signature per secret while it rotates; more than this is not a rotation.
MAX_SIGNATURES = 8


class SignatureError(Exception):
    """The webhook's headers do not prove it came from the membership system; the message says why."""


@dataclass(frozen=True)
class Signed:
    """A webhook whose signature checked out."""

    webhook_id: str
    timestamp: int


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one message under one key."""
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(keys: Sequence[bytes], headers: Mapping[str, str], body: bytes, now: float,
           tolerance_s: int) -> Signed:
    """Check the webhook-* headers against the raw body: any key, any listed v1 signature, fresh timestamp."""
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    missing = [name for name, value in (("webhook-id", webhook_id), ("webhook-timestamp", stamp),
                                        ("webhook-signature", signatures)) if not value]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    if not WEBHOOK_ID.match(webhook_id):
        raise SignatureError("webhook-id: expected 1 to 128 of A-Z a-z 0-9 _ . : -")
    if not TIMESTAMP.match(stamp):
        raise SignatureError("webhook-timestamp: expected Unix seconds")
    timestamp = int(stamp)
    # Replays: a captured message is useless once its timestamp is this far from now, either way.
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"webhook-timestamp: more than {tolerance_s} s from the receiver's clock")
    offered = _v1_signatures(signatures)
    expected = [base64.b64decode(sign(key, webhook_id, timestamp, body)[3:]) for key in keys]
    # Every pair is compared, in constant time, so the time taken says nothing about which one matched.
    matched = [hmac.compare_digest(e, o) for e in expected for o in offered]
    if not any(matched):
        raise SignatureError("webhook-signature: no signature matches")
    return Signed(webhook_id, timestamp)


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded `v1,` signatures of the header; other versions (e.g. v1a) are skipped."""
    parts = header.split()
    if len(parts) > MAX_SIGNATURES:
        raise SignatureError(f"webhook-signature: more than {MAX_SIGNATURES} signatures")
    decoded = []
    for part in parts:
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        # A malformed entry is one that cannot match; another entry may still be right.
        with contextlib.suppress(binascii.Error, ValueError):
            decoded.append(base64.b64decode(value, validate=True))
    if not decoded:
        raise SignatureError("webhook-signature: no well-formed v1 signature")
    return decoded
