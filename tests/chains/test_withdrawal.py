"""Withdrawal of marketing consent and objection to direct marketing (GDPR Art. 7(3), 21(2)-(3)), and members added
again by a re-sync after a withdrawal or an erasure: the chains' real flows against the sandbox."""

from __future__ import annotations

import copy
import time
import uuid
from datetime import date, datetime
from typing import Any

import httpx
from prefect import get_client
from prefect.settings import PREFECT_API_URL

from config.settings import load_settings
from domain.values import OSLO, artifact_key, contact_reference
from evidence.ledger import open_ledger
from sandbox.mailchimp import AUDIENCES
from sandbox.people import DemoMember
from sandbox.world import Sandbox
from tests.flow_driver import execute
from tests.triggers.conftest import PATH, SECRET, event, signed
from triggers.app import create_app
from triggers.dispatch import PrefectDispatcher

NEWSLETTER, CAMPAIGNS = AUDIENCES


def held_beyond_marketing(sandbox: Sandbox, member_id: str) -> dict[str, Any]:
    """Everything the demo chain's processors other than the newsletter hold on the member, the membership
    record without its consents."""
    record = copy.deepcopy(sandbox.exceline.members[member_id])
    record.consents = []
    return {"exceline": record, "ibooking": copy.deepcopy(sandbox.ibooking.customers),
            "nets": repr(vars(sandbox.nets)), "physica": repr(vars(sandbox.physica))}


def audiences_of(sandbox: Sandbox, member: DemoMember) -> list[str]:
    """The newsletter audiences the member's e-mail address is in."""
    return sorted(m["list_id"] for m in sandbox.mailchimp.members.values() if m["email_address"] == member.email)


async def sealed(request_id: str, kind: str) -> list[dict[str, Any]]:
    """The evidence of a request's records of one kind, as the ledger sealed them."""
    ledger = await open_ledger(load_settings().ledger_url)
    return [r.sealed.body["evidence"] for r in await ledger.records(request_id=request_id) if r.kind == kind]


async def withdrawn_by_webhook(controller: str, member_id: str) -> tuple[str, Any]:
    """Send a signed marketing.withdrawn to the receiver (real Prefect dispatcher) and run the run it started here."""
    settings = load_settings(webhook_secrets=[SECRET])
    dispatcher = PrefectDispatcher(PREFECT_API_URL.value(), timeout_s=60, subject_key=settings.subject_key)
    body = event("marketing.withdrawn", member_id, controller, at=time.time())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, dispatcher, time.time)),
                                 base_url="http://receiver", timeout=60) as receiver:
        answer = (await receiver.post(PATH, content=body, headers=signed(
            body, webhook_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time())))).json()
    await dispatcher.aclose()
    async with get_client() as client:
        flow_run = await client.read_flow_run(uuid.UUID(answer["flow_run_id"]))
    return answer["request_id"], await execute("withdraw-marketing", flow_run)


async def test_marketing_withdrawn_event_stops_marketing_everywhere_and_touches_nothing_else(sandbox, deployments,
                                                                                             artifacts):
    """A signed marketing.withdrawn deletes the newsletter membership and withdraws the membership system's marketing
    consents at once; every other record of the member is as it was; the ledger seals the withdrawal and a
    suppression entry of keyed references (never the address or number), and the letter says so in both
    languages."""
    member = sandbox.add_member(journal=True)
    before = held_beyond_marketing(sandbox, member.member_id)

    request_id, run = await withdrawn_by_webhook("demo", member.member_id)

    assert "COMPLETED" == run.state_name
    assert [] == audiences_of(sandbox, member)
    assert [False, False] == [c["granted"] for c in sandbox.exceline.members[member.member_id].consents]
    assert before == held_beyond_marketing(sandbox, member.member_id)
    # The journal holds destructive calls: the newsletter's only (the consents' withdrawal is read above).
    assert [("mailchimp", "delete")] == [(call.system, call.action) for call in sandbox.applied_calls(member.member_id)]
    [evidence] = await sealed(request_id, "withdrawal")
    assert ("done", "withdrawal") == (evidence["status"], evidence["request"]["kind"])
    assert [("mailchimp", "erased", True), ("exceline-marketing", "erased", True)] == [
        (s["system"], s["status"], s["verified"]) for s in evidence["steps"]]
    assert (["email", "phone"], ["ibooking", "nets", "physica", "exceline"]) == (
        evidence["suppressed"], evidence["untouched"])
    key = load_settings().subject_key
    ledger = await open_ledger(load_settings().ledger_url)
    assert [("email", contact_reference(key, "demo", "email", member.email), "withdrawal"),
            ("phone", contact_reference(key, "demo", "phone", member.phone), "withdrawal")] == [
        (row.channel, row.reference, row.reason) for row in await ledger.suppressed("demo", request_id)]
    table = await artifacts(artifact_key("withdrawal", request_id))
    assert ["mailchimp", "exceline-marketing"] == [row["system"] for row in table]
    letter = await letter_of(request_id)
    assert "Vi har stanset all markedsføring til deg" in letter
    assert "We have stopped all marketing to you" in letter
    assert "Nothing else has changed" in letter
    assert [] == [value for value in member.personal_values() if value in letter]


async def letter_of(request_id: str) -> str:
    """The newest letter artifact of a request."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=[artifact_key("letter", request_id)])), sort=ArtifactSort.CREATED_DESC, limit=1)
    return str(found[0].data)


async def test_a_withdrawal_at_k24_deletes_the_lifevision_contact_and_withdraws_eziteq_consents_only(sandbox, flows):
    """K24: the newsletter contact at Mailchimp (run by Magy Media) and the LifeVision contact (SMS, e-mail) are
    deleted, with LifeVision's suppression entry, the Eziteq marketing consents withdrawn; the journal, Nets and the
    rest of the Eziteq record are untouched."""
    member = sandbox.add_member(chain="k24", journal=True)

    run = await flows.withdraw("k24", member.member_id)

    assert "COMPLETED" == run.state_name
    assert {"mailchimp", "lifevision", "eziteq"} == {call.system for call in sandbox.applied_calls(member.member_id)}
    assert [] == [c for c in sandbox.lifevision.contacts.values() if c.external_id == member.member_id]
    assert sandbox.lifevision.suppressed(member.email, member.phone)
    [evidence] = await sealed(run.flow_run.parameters["request_id"], "withdrawal")
    assert ["mailchimp", "lifevision", "eziteq-marketing"] == [s["system"] for s in evidence["steps"]]
    assert ["physica", "nets", "manual-inkassoselskapet", "eziteq"] == evidence["untouched"]


async def test_a_withdrawn_member_readded_by_a_resync_is_removed_again_with_evidence(sandbox, flows):
    """After a withdrawal, a re-sync adds the member to the campaigns audience; the nightly sweep finds them by
    their keyed e-mail reference, removes them, reads it back and seals the removal under the withdrawal."""
    member = sandbox.add_member()
    withdrawal = await flows.withdraw("demo", member.member_id)
    request_id = withdrawal.flow_run.parameters["request_id"]
    assert sandbox.mailchimp.resync(member, CAMPAIGNS)
    assert [CAMPAIGNS] == audiences_of(sandbox, member)

    sweep = await flows.sweep("demo")

    assert "COMPLETED" == sweep.state_name
    assert [] == audiences_of(sandbox, member)
    [removal] = await sealed(request_id, "readded")
    assert ("done", "withdrawal", 1) == (removal["status"], removal["reason"], removal["found"])
    assert [("mailchimp", "erased", True)] == [(s["system"], s["status"], s["verified"]) for s in removal["steps"]]


async def test_an_erased_member_readded_by_a_resync_is_removed_again(sandbox, flows):
    """Mailchimp refuses to re-add an address to the audience it was permanently deleted from, but a re-sync into
    another audience takes it; the sweep removes the erased member from there again, with evidence."""
    member = sandbox.add_member()
    erasure = await flows.erase("demo", member.member_id)
    request_id = erasure.flow_run.parameters["request_id"]
    assert "COMPLETED" == erasure.state_name
    assert (False, True) == (sandbox.mailchimp.resync(member, NEWSLETTER), sandbox.mailchimp.resync(member, CAMPAIGNS))

    sweep = await flows.sweep("demo")

    assert "COMPLETED" == sweep.state_name
    assert [] == audiences_of(sandbox, member)
    [removal] = await sealed(request_id, "readded")
    assert ("done", "erasure") == (removal["status"], removal["reason"])


async def test_a_sweep_with_nobody_added_again_removes_nothing(sandbox, flows):
    """A withdrawn member who stays away is not touched again: the sweep reads the audiences and deletes nothing."""
    member = sandbox.add_member()
    await flows.withdraw("demo", member.member_id)
    calls = len(sandbox.applied_calls(member.member_id))

    sweep = await flows.sweep("demo")

    assert "COMPLETED" == sweep.state_name
    assert calls == len(sandbox.applied_calls(member.member_id))


async def test_the_withdraw_marketing_form_in_the_ui_describes_every_parameter(deployments):
    """The registered deployment's parameter schema (the UI's custom-run form) describes each parameter."""
    async with get_client() as client:
        deployment = await client.read_deployment(deployments["withdraw-marketing"])

    schema = deployment.parameter_openapi_schema
    assert schema is not None
    assert ["controller", "member_id", "request_id"] == list(schema["properties"])
    assert all(len(p.get("description", "")) > 20 for p in schema["properties"].values())
    assert ["controller", "member_id"] == schema["required"]


async def test_a_withdrawal_started_from_the_ui_form_completes_and_its_rerun_changes_nothing(sandbox, flows):
    """Started as the UI's form starts it (controller and member id only), the withdrawal completes under its
    run's id; run again by hand with that request id it reads back and applies nothing a second time."""
    member = sandbox.add_member()

    first = await flows.start("withdraw-marketing", {"controller": "demo", "member_id": member.member_id})
    applied = sandbox.applied_calls(member.member_id)
    request_id = (await first.result()).request.request_id
    again = await flows.start("withdraw-marketing", {"controller": "demo", "member_id": member.member_id,
                                                     "request_id": request_id})

    assert ("COMPLETED", "COMPLETED") == (first.state_name, again.state_name)
    assert str(first.flow_run.id) == request_id
    assert applied == sandbox.applied_calls(member.member_id)
    assert all(step.verified for step in (await again.result()).steps)


async def test_a_withdrawal_for_a_member_the_membership_system_does_not_know_touches_nothing(sandbox, flows):
    """An id the membership system does not know ends with that reason; no processor is called destructively and
    no suppression entry is made."""
    run = await flows.withdraw("demo", "M9999999")

    ledger = await open_ledger(load_settings().ledger_url)
    assert "FAILED" == run.state_name
    assert "member M9999999 is not known at exceline; nothing was erased" in str(run.state.message)
    assert [] == sandbox.applied_calls("M9999999")
    assert [] == await ledger.suppressed(request_id=run.flow_run.parameters["request_id"])


async def test_lifevision_refuses_a_resync_of_a_withdrawn_member_and_the_sweep_says_it_cannot_list(sandbox, flows,
                                                                                                   artifacts):
    """K24's SMS channel: LifeVision keeps its own keyed suppression of a deleted contact (our assumption of its
    API), so a re-sync that adds the member again is refused there; the sweep's table says it cannot list
    LifeVision's contacts, so that suppression is what keeps the channel closed."""
    member = sandbox.add_member(chain="k24")
    await flows.withdraw("k24", member.member_id)

    async with httpx.AsyncClient(transport=sandbox.transports()["lifevision"], base_url="http://lifevision.sandbox",
                                 headers={"authorization": "Bearer test"}) as client:
        resync = await client.post("/api/v2/contacts", json={"externalId": member.member_id, "email": member.email,
                                                             "phone": member.phone})
    sweep = await flows.sweep("k24")

    assert (409, "SUPPRESSED") == (resync.status_code, resync.json()["error"]["code"])
    assert "COMPLETED" == sweep.state_name
    rows = await artifacts(artifact_key("readded", f"k24-{datetime.now(OSLO).date().isoformat()}"))
    # Mailchimp (Magy Media's newsletter) is read; LifeVision cannot be. The session's tests share one ledger and
    # every sandbox makes the same members: a contact another test suppressed is found re-added here and erased.
    assert [("mailchimp", "read"), ("lifevision", "cannot list contacts")] == [
        (r["system"], r["status"]) for r in rows if r["status"] != "erased"]


async def test_slett_evidence_prints_a_withdrawal_and_the_removal_of_its_member_after_a_resync(sandbox, flows, capsys):
    """`slett evidence <request>` shows a withdrawal's steps from the ledger, and each removal after a re-sync with
    the day it was found."""
    import asyncio

    from cli.main import main

    member = sandbox.add_member()
    request_id = (await flows.withdraw("demo", member.member_id)).flow_run.parameters["request_id"]
    sandbox.mailchimp.resync(member, CAMPAIGNS)
    await flows.sweep("demo", as_of=date(2027, 1, 4))
    capsys.readouterr()

    assert 0 == await asyncio.to_thread(main, ["evidence", request_id])

    printed = capsys.readouterr().out
    assert "exceline-marketing" in printed and "mailchimp" in printed
    assert "added again by a re-sync, and removed again:" in printed
    assert "2027-01-04  mailchimp" in printed


async def test_erase_member_started_with_the_kind_withdrawal_erases_nothing(sandbox, flows):
    """The erase-member form lists every kind; one started as a withdrawal fails at once, naming the deployment
    that carries withdrawals out, and touches no processor."""
    member = sandbox.add_member()

    run = await flows.erase("demo", member.member_id, kind="withdrawal")

    assert "FAILED" == run.state_name
    assert "withdraw-marketing deployment; nothing was erased" in str(run.state.message)
    assert [] == sandbox.applied_calls(member.member_id)


async def test_a_withdrawal_whose_process_died_is_rerun_by_recover_crashed_and_applies_nothing_twice(sandbox, flows):
    """The process dies right after Mailchimp deleted the contact; recover-crashed reruns the crashed withdrawal,
    which completes with the deletion applied once and one suppression entry."""
    import pytest
    from prefect.client.schemas.objects import StateType

    from flows.recover_crashed import recover_crashed
    from tests.chaos.test_recovery import ProcessDied, die_after

    member = sandbox.add_member()
    request_id = f"test-crash-{uuid.uuid4().hex[:10]}"
    sandbox.journal.listeners.append(die_after("mailchimp", sandbox))
    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(
            flows.deployments["withdraw-marketing"], idempotency_key=request_id,
            parameters={"controller": "demo", "member_id": member.member_id, "request_id": request_id})
    with pytest.raises(ProcessDied):
        await execute("withdraw-marketing", run)
    async with get_client() as client:
        crashed = (await client.read_flow_run(run.id)).state_type

    swept = await recover_crashed(budget=3, silence_s=90)
    async with get_client() as client:
        rerun = await execute("withdraw-marketing", await client.read_flow_run(run.id))

    ledger = await open_ledger(load_settings().ledger_url)
    assert (StateType.CRASHED, "COMPLETED") == (crashed, rerun.state_name)
    assert swept["rescheduled"] >= 1
    assert {} == sandbox.journal.applied_twice()
    assert ["email", "phone"] == [row.channel for row in await ledger.suppressed(request_id=request_id)]
