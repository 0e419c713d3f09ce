"""Mailchimp: permanent deletion in every audience, by subscriber hash, never by e-mail in a URL."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx
import pytest

from connectors.contract import Action, Holdings, Permanent, Status, Subject
from connectors.http import use_transports
from connectors.registry import connect
from sandbox.mailchimp import AUDIENCES


class PathRecorder(httpx.AsyncBaseTransport):
    """A transport that notes each request's path, then passes it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path.decode().split("?")[0])
        return await self.inner.handle_async_request(request)


async def test_lookup_finds_every_audience_and_keeps_no_hash_of_the_email(open_connector, subject, sandbox):
    """The member is found in both audiences; ids are the list id and Mailchimp's unique_email_id, never the
    e-mail or its MD5 subscriber hash (found again by hashing guessed addresses), whole or in part."""
    email = sandbox.member("M1001").email
    digest = hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()
    unique = {m["unique_email_id"] for m in sandbox.mailchimp.members.values() if m["email_address"] == email}

    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1001"))

    assert {f"{list_id}/{u}" for list_id in AUDIENCES for u in unique} == set(holdings.ids)
    assert {"newsletter"} == holdings.categories
    assert [] == [held for held in holdings.ids if held.split("/")[1] in digest or digest in held]
    assert digest not in repr(holdings)


async def test_delete_in_every_audience_round_trip(open_connector, subject, sandbox):
    """Erasing deletes the member permanently in every audience, and the read-back confirms it."""
    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1001"))
        outcome = await mailchimp.erase(holdings, Action.DELETE, "k1")
        check = await mailchimp.verify(holdings, Action.DELETE)

    assert (Status.ERASED, 2) == (outcome.status, outcome.count)
    assert (Status.ERASED, True) == (check.status, check.verified)
    assert ["mailchimp", "mailchimp"] == [call.system for call in sandbox.applied_calls("M1001")]
    assert [] == [key for key, owner in sandbox.mailchimp.member_ids.items()
                  if owner == "M1001" and key in sandbox.mailchimp.members]


async def test_verify_finds_a_remaining_audience(open_connector, subject, sandbox):
    """If one audience still has the member, the read-back is not verified."""
    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1001"))
        await mailchimp.erase(Holdings.of("mailchimp", ids=holdings.ids[:1]), Action.DELETE, "k1")
        check = await mailchimp.verify(holdings, Action.DELETE)

    assert (False, 1) == (check.verified, check.count)


async def test_gone_member_is_already_absent(open_connector, subject):
    """A delete-permanent that meets Mailchimp's 404 problem+json is already-absent."""
    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1001"))
        await mailchimp.erase(holdings, Action.DELETE, "k1")
        again = await mailchimp.erase(holdings, Action.DELETE, "k2")

    assert (Status.ALREADY_ABSENT, 0) == (again.status, again.count)


async def test_no_email_ever_sits_in_a_url_path(sandbox, settings, policy, subject):
    """Lookup, erase and verify send the e-mail only in the query string, never in a path."""
    email = sandbox.member("M1001").email
    recorder = PathRecorder(sandbox.transports()["mailchimp"])
    with use_transports({"mailchimp": recorder}):
        async with connect("mailchimp", settings, policy) as (mailchimp, _):
            holdings = await mailchimp.lookup(subject("M1001"))
            await mailchimp.erase(holdings, Action.DELETE, "k1")
            await mailchimp.verify(holdings, Action.DELETE)

    assert 7 == len(recorder.paths)  # search; per audience: find the member, delete it, find it no more
    assert [] == [p for p in recorder.paths if email in p or quote(email) in p or "example.no" in p]


async def test_lookup_without_email_is_permanent(open_connector):
    """Without the member's e-mail Mailchimp cannot be searched: Permanent, and no request is sent."""
    async with open_connector("mailchimp") as (mailchimp, client):
        with pytest.raises(Permanent, match="needs the member's e-mail"):
            await mailchimp.lookup(Subject("demo", "M1001"))

    assert 0 == client.attempts


async def test_member_absent_from_mailchimp_holds_nothing(open_connector, subject):
    """A member in no audience has no holdings."""
    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1004"))

    assert not holdings.found
