"""LifeVision: contacts found by POSTed search, deleted, and remembered only as keyed hashes."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import httpx
import pytest

from connectors.contract import Action, Permanent, Status, Subject
from connectors.http import use_transports
from connectors.registry import connect
from sandbox.lifevision import Contact, normal_email, normal_phone


class Recording(httpx.AsyncBaseTransport):
    """A transport that notes every request's URL before passing it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)


async def test_lookup_finds_contact_and_messages(open_connector, subject):
    """The member's contact and the messages sent to them are found."""
    async with open_connector("lifevision") as (lifevision, _):
        holdings = await lifevision.lookup(subject("M1101"))

    assert (("lv-001101",), {"contact", "messages"}) == (holdings.ids, holdings.categories)


async def test_lookup_also_finds_contacts_imported_by_phone_alone(open_connector, subject, sandbox):
    """A contact imported with only the member's phone (no member id) is found too."""
    member = sandbox.member("M1101")
    sandbox.lifevision.contacts["lv-x"] = Contact("lv-x", None, "", "", None, member.phone.replace(" ", ""))

    async with open_connector("lifevision") as (lifevision, _):
        holdings = await lifevision.lookup(subject("M1101"))

    assert {"lv-001101", "lv-x"} == set(holdings.ids)


async def test_no_email_or_phone_in_any_url(sandbox, settings, policy, subject):
    """Lookup, erase and verify never put the member's e-mail or phone in a URL (search is a POST body)."""
    recording = Recording(sandbox.transports()["lifevision"])
    member = sandbox.member("M1101")
    with use_transports({"lifevision": recording}):
        async with connect("lifevision", settings, policy) as (lifevision, _):
            holdings = await lifevision.lookup(subject("M1101"))
            await lifevision.erase(holdings, Action.DELETE, "k1")
            await lifevision.verify(holdings, Action.DELETE)

    spellings = {member.email, member.phone, member.phone.replace(" ", ""), normal_phone(member.phone)}
    urls = [unquote_plus(url) for url in recording.urls]
    assert len(urls) >= 4
    assert [] == [url for url in urls if any(value in url for value in spellings)]


async def test_delete_keeps_only_a_keyed_hash(open_connector, subject, sandbox):
    """Deleting removes the contact and its messages; the suppression entry holds keyed hashes, never the values."""
    member = sandbox.member("M1101")
    async with open_connector("lifevision") as (lifevision, _):
        holdings = await lifevision.lookup(subject("M1101"))
        outcome = await lifevision.erase(holdings, Action.DELETE, "k1")
        check = await lifevision.verify(holdings, Action.DELETE)

    [entry] = sandbox.lifevision.suppressions.values()
    assert (Status.ERASED, 1, True) == (outcome.status, outcome.count, check.verified)
    assert "lv-001101" not in sandbox.lifevision.contacts
    assert (sandbox.lifevision.digest(normal_email(member.email)),
            sandbox.lifevision.digest(normal_phone(member.phone))) == (entry.email_hash, entry.phone_hash)
    kept = json.dumps(entry.as_json())
    assert [] == [v for v in (member.email, member.phone, normal_phone(member.phone), member.name) if v in kept]


async def test_verify_insists_on_the_suppression_entry(open_connector, subject, sandbox):
    """A contact gone without a suppression entry is not verified: they could be re-imported."""
    async with open_connector("lifevision") as (lifevision, _):
        holdings = await lifevision.lookup(subject("M1101"))
        await lifevision.erase(holdings, Action.DELETE, "k1")
        sandbox.lifevision.suppressions.clear()
        check = await lifevision.verify(holdings, Action.DELETE)

    assert (Status.FAILED, False) == (check.status, check.verified)


async def test_only_delete_is_offered(open_connector, subject):
    """LifeVision offers only delete: restrict is Permanent."""
    async with open_connector("lifevision") as (lifevision, _):
        with pytest.raises(Permanent, match="restrict is not offered"):
            await lifevision.erase(await lifevision.lookup(subject("M1101")), Action.RESTRICT, "k")


async def test_member_unknown_everywhere_is_not_found(open_connector):
    """A member with no contact at LifeVision holds nothing there."""
    async with open_connector("lifevision") as (lifevision, _):
        holdings = await lifevision.lookup(Subject("k24", "M9999", email="nobody@example.no"))

    assert not holdings.found
