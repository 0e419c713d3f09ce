"""Mailchimp: permanent deletion in every audience, by subscriber hash, never by e-mail in a URL."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import cast
from urllib.parse import quote

import httpx
import pytest
import structlog

from config.settings import SettingsError
from connectors.contract import Action, Holdings, Permanent, Retryable, Status, Subject
from connectors.http import RetryPolicy, use_transports
from connectors.mailchimp import MailchimpConnector
from connectors.registry import connect
from sandbox.mailchimp import AUDIENCES
from tests.connectors.conftest import sandbox_settings


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


class Recorder(httpx.AsyncBaseTransport):
    """A transport that keeps each request, then passes it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


async def recorded_lookup(sandbox, settings, policy, subject) -> list[httpx.Request]:
    """The requests one lookup of M1001 sends with these settings."""
    recorder = Recorder(sandbox.transports()["mailchimp"])
    with use_transports({"mailchimp": recorder}):
        async with connect("mailchimp", settings, policy) as (mailchimp, _):
            await mailchimp.lookup(subject("M1001"))
    return recorder.requests


async def test_the_key_goes_as_the_basic_auth_password(sandbox, make_settings, policy, subject):
    """Mailchimp's API keys go by HTTP Basic: any user name, the key as the password."""
    requests = await recorded_lookup(sandbox, make_settings(api_key="0123abcd-us21"), policy, subject)

    scheme, _, encoded = requests[0].headers["Authorization"].partition(" ")
    assert ("Basic", "0123abcd-us21") == (scheme, base64.b64decode(encoded).decode().partition(":")[2])
    assert {"0123abcd-us21"} == sandbox.mailchimp.keys_seen


async def test_without_a_base_url_the_data_centre_comes_from_the_key(sandbox, make_settings, policy, subject):
    """With no base URL, a key ending in -us21 is sent to https://us21.api.mailchimp.com/3.0."""
    settings = make_settings(base_url=None, api_key="0123abcd-us21")

    requests = await recorded_lookup(sandbox, settings, policy, subject)

    assert "https://us21.api.mailchimp.com/3.0/search-members" == str(requests[0].url).split("?")[0]


@pytest.mark.parametrize("base_url", ["https://us21.api.mailchimp.com/3.0", "https://us21.api.mailchimp.com/3.0/",
                                      "https://us21.api.mailchimp.com"])
async def test_a_base_url_with_or_without_its_3_0_is_the_api_root(base_url, sandbox, make_settings, policy,
                                                                  subject):
    """The documented root URL (ending in /3.0) and the bare host both reach /3.0/..., never /3.0/3.0/..."""
    requests = await recorded_lookup(sandbox, make_settings(base_url=base_url, api_key="k-us21"), policy, subject)

    assert ["/3.0/search-members"] == [r.url.path for r in requests]


async def test_a_key_for_another_data_centre_is_refused(sandbox, make_settings, policy, subject):
    """A us6 key sent to us21 gets Mailchimp's 401, an error naming its title, never its detail."""
    settings = make_settings(base_url="https://us21.api.mailchimp.com/3.0", api_key="0123abcd-us6")
    with use_transports(sandbox.transports()):
        async with connect("mailchimp", settings, policy) as (mailchimp, _):
            with pytest.raises(Permanent, match=r"HTTP 401 \(API Key Invalid\)$"):
                await mailchimp.lookup(subject("M1001"))


async def test_a_key_without_its_data_centre_and_no_base_url_is_a_settings_error(sandbox, make_settings, policy):
    """Neither a base URL nor a data centre in the key: a clear error naming the setting, before any request."""
    with use_transports(sandbox.transports()), pytest.raises(SettingsError,
                                                             match="SLETT_PROCESSORS__MAILCHIMP__BASE_URL"):
        async with connect("mailchimp", make_settings(base_url=None, api_key="0123abcd"), policy):
            pass


async def test_never_more_than_10_connections_at_once(open_connector, subject, sandbox):
    """20 calls at once from two connectors: Mailchimp sees its 10 at once and never an 11th to refuse."""
    sandbox.mailchimp.hold_s = 0.02
    async with open_connector("mailchimp") as (first, _), open_connector("mailchimp") as (second, _):
        holdings = await first.lookup(subject("M1001"))
        checks = await asyncio.gather(*(connector.verify(holdings, Action.DELETE)
                                        for connector in (first, second) for _ in range(10)))

    assert (10, 0) == (sandbox.mailchimp.most_at_once, sandbox.mailchimp.refused)
    assert {False} == {check.verified for check in checks}  # each found the member still there: none refused


async def test_the_twin_refuses_an_11th_connection(sandbox):
    """Mailchimp's limit in the twin: the 11th request at once is refused with its 429."""
    sandbox.mailchimp.hold_s = 0.05
    async with httpx.AsyncClient(transport=sandbox.transports()["mailchimp"], base_url="http://mailchimp.sandbox",
                                 auth=("any", "key-us21")) as client:
        answers = await asyncio.gather(*(client.get("/3.0/lists") for _ in range(11)))

    assert [200] * 10 + [429] == sorted(answer.status_code for answer in answers)


async def test_the_subscriber_hash_is_in_no_error_or_log_line(open_connector, subject, sandbox, make_settings,
                                                              sleep):
    """A delete-permanent that keeps failing: the error and the retry log lines show {subscriber_hash}, never
    the MD5 of the member's e-mail."""
    digest = hashlib.md5(sandbox.member("M1001").email.lower().encode(), usedforsecurity=False).hexdigest()
    policy = RetryPolicy(attempts=2, sleep=sleep)
    with structlog.testing.capture_logs() as logs:
        async with open_connector("mailchimp", policy=policy) as (mailchimp, _):
            holdings = await mailchimp.lookup(subject("M1001"))
            sandbox.faults["mailchimp"].script("ok", "500", "500")  # the member is found, its deletion fails
            with pytest.raises(Retryable) as raised:
                await mailchimp.erase(holdings, Action.DELETE, "k1")

    texts = [str(raised.value), repr(raised.value), *(repr(line) for line in logs)]
    assert "{subscriber_hash}/actions/delete-permanent: HTTP 500" in str(raised.value)
    assert any(line["event"] == "processor call retried" for line in logs)
    assert [] == [text for text in texts if digest in text]


async def test_contacts_lists_every_audience_member_a_page_at_a_time_with_lookups_ids(open_connector, subject,
                                                                                     sandbox):
    """The listing reads every audience (1,000 a page, by count and offset) and gives each member the id `lookup`
    gives, with the address only in the listing's memory, never in a path."""
    newsletter, campaigns = AUDIENCES
    for n in range(1005):
        sandbox.mailchimp.subscribe(campaigns, f"bulk.{n}@example.no", "", {}, None)
    recorder = PathRecorder(sandbox.transports()["mailchimp"])

    with use_transports({"mailchimp": recorder}):
        async with connect("mailchimp", sandbox_settings()) as (mailchimp, _):
            listed = [contact async for contact in cast(MailchimpConnector, mailchimp).contacts()]
            holdings = await mailchimp.lookup(subject("M1001"))

    assert len(sandbox.mailchimp.members) == len(listed)
    assert set(holdings.ids) <= {contact.id for contact in listed}
    assert ["/3.0/lists", f"/3.0/lists/{newsletter}/members", *[f"/3.0/lists/{campaigns}/members"] * 2] == (
        recorder.paths[:4])
    assert "@" not in "".join(recorder.paths)
    assert "example.no" not in repr(listed)


async def test_the_twin_refuses_an_address_permanently_deleted_from_an_audience_and_takes_it_in_another(
        open_connector, subject, sandbox):
    """As Mailchimp does: once deleted permanently, an address cannot be added to that audience again by the API
    ("Forgotten Email Not Subscribed"); the other audience takes it, as a re-sync from an old export would."""
    member = sandbox.member("M1002")  # in the first audience only
    async with open_connector("mailchimp") as (mailchimp, _):
        await mailchimp.erase(await mailchimp.lookup(subject("M1002")), Action.DELETE, "k1")
    body = {"email_address": member.email, "status": "subscribed"}
    newsletter, campaigns = AUDIENCES

    async with httpx.AsyncClient(transport=sandbox.transports()["mailchimp"], base_url="http://mailchimp.sandbox",
                                 auth=("any", "test")) as client:
        refused = await client.post(f"/3.0/lists/{newsletter}/members", json=body)
        added = await client.post(f"/3.0/lists/{campaigns}/members", json=body)

    assert (400, "Forgotten Email Not Subscribed") == (refused.status_code, refused.json()["title"])
    assert (200, "subscribed") == (added.status_code, added.json()["status"])
    assert [campaigns] == [m["list_id"] for m in sandbox.mailchimp.members.values()
                           if m["email_address"] == member.email]
