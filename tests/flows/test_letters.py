"""The member hears within the deadline while the run waits (GDPR Art. 12(3)-(4)): the acknowledgment when the
request is registered, and one letter when it will wait past its deadline, each sealed and shown on the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from prefect import get_client
from prefect.states import Cancelled

from config.dates import gdpr_deadline
from config.settings import load_settings
from config.workdays import add_working_days, expected_after_wait
from domain.values import OSLO, artifact_key
from evidence.interim import ACKNOWLEDGMENT, DELAY
from evidence.ledger import open_ledger
from evidence.letter import words
from flows.deadline_check import deadline_check
from queries.history import latest_artifact
from tests.evidence.conftest import create
from tests.evidence.test_deadlines import set_created
from tests.evidence.test_register import slett
from tests.flow_driver import Flows, pause_key
from tests.flow_driver import execute as run_deployment
from tests.flows.conftest import Run, execute

pytestmark = pytest.mark.slow


async def letters(request_id: str) -> list[dict[str, Any]]:
    """The letters the ledger sealed for a request, in the order they were sent."""
    ledger = await open_ledger(load_settings().ledger_url)
    return [r.sealed.body["evidence"]["letter"] for r in await ledger.records(request_id=request_id)
            if r.kind == "letter"]


async def shown(kind: str, request_id: str) -> str:
    """The letter's text as its artifact on the request's run shows it."""
    async with get_client() as client:
        artifact = await latest_artifact(client, artifact_key(kind, request_id))
    assert artifact is not None, f"no {kind} artifact for {request_id}"
    return str(artifact.data)


async def cancel(run: Run) -> None:
    """Leave no run waiting for the other modules' sweeps."""
    async with get_client() as client:
        await client.set_flow_run_state(run.flow_run.id, Cancelled(message="letters test done"), force=True)


async def test_acknowledgment_is_sent_when_the_request_is_registered_before_the_settlement_wait(
        sandbox, run_erasure, resume):
    """M1002 owes its final invoice: before the run suspends, marketing has stopped and the member is sent one
    acknowledgment (received, marketing stopped, the invoice waits, the answer by the deadline), sealed in the
    ledger and shown on the run by reference; resumed and suspended again, it sends no other letter while the
    deadline is ahead."""
    request_id = f"letters-ack-{uuid4().hex[:8]}"

    run = await run_erasure("M1002", request_id=request_id)
    again = await resume(run, {"confirmed_by": "letters test"})

    sent = await letters(request_id)
    text = await shown(ACKNOWLEDGMENT, request_id)
    await cancel(again)
    deadline = gdpr_deadline(datetime.now(UTC).date())
    assert ("SUSPENDED", "SUSPENDED") == (run.state_name, again.state_name)
    assert ["mailchimp"] == sandbox.destructive_calls_for("M1002")[:1]
    assert [(ACKNOWLEDGMENT, ["settlement"], deadline.isoformat())] == [
        (letter["kind"], letter["waits_for"], letter["expected"]) for letter in sent]
    assert {"mailchimp": "erased", "exceline-marketing": "erased"} == {
        step["system"]: step["status"] for step in sent[0]["stopped"]}
    assert "Your final invoice is not paid yet." in text
    assert f"You will have our answer by {words('en').day(deadline)}." in text
    assert "M1002" not in text


async def test_a_run_waiting_past_the_deadline_sends_one_letter_saying_why_and_by_when(sandbox, deployments):
    """A request received five weeks ago whose final invoice is still open is past its deadline when its run
    suspends: the member gets one delay letter with the reason, the new expected date and Datatilsynet; a
    second suspension and the daily deadline check send no other."""
    request_id = f"letters-late-{uuid4().hex[:8]}"
    received = datetime.now(UTC) - timedelta(weeks=5)
    queued = await create(deployments["erase-member"], "M1002", request_id)
    await set_created(queued.id, received)
    async with get_client() as client:
        flow_run = await client.read_flow_run(queued.id)

    run = await execute(flow_run)
    async with get_client() as client:
        await client.resume_flow_run(run.flow_run.id, run_input={"confirmed_by": "letters test"})
        again = await execute(await client.read_flow_run(run.flow_run.id))
    counts = await deadline_check()

    sent = await letters(request_id)
    text = await shown(DELAY, request_id)
    await cancel(again)
    today = datetime.now(OSLO).date()
    expected = expected_after_wait(received.date(), today)
    assert ("SUSPENDED", "SUSPENDED") == (run.state_name, again.state_name)
    assert "settlement-2" == again.state.state_details.pause_key
    assert [ACKNOWLEDGMENT, DELAY] == [letter["kind"] for letter in sent]
    assert (["settlement"], expected.isoformat(), gdpr_deadline(received.date()).isoformat()) == (
        sent[1]["waits_for"], sent[1]["expected"], sent[1]["deadline"])
    assert "Your final invoice is not paid." in text
    assert f"We now expect to finish by {words('en').day(expected)}" in text
    assert "You may complain to Datatilsynet" in text and "Du kan klage til Datatilsynet" in text
    assert "M1002" not in text
    assert counts["requests"] >= 1


async def test_a_run_waiting_for_a_persons_step_past_the_deadline_sends_one_letter_naming_the_step(
        sandbox, deployments):
    """An Aktiv365 request received five weeks ago is past its deadline when its run suspends for Kalibrert (a
    marketing agency with no API, a person's step): the member gets one delay letter whose reason names Kalibrert
    AS and which does not claim marketing has stopped there; the later person's steps (Credicare, Apility,
    Relisec) and the end of the run send no other."""
    request_id = f"letters-person-{uuid4().hex[:8]}"
    member = sandbox.add_member(chain="aktiv365")
    received = datetime.now(UTC) - timedelta(weeks=5)
    async with get_client() as client:
        queued = await client.create_flow_run_from_deployment(
            deployments["erase-member"], idempotency_key=request_id,
            parameters={"controller": "aktiv365", "member_id": member.member_id, "kind": "termination",
                        "request_id": request_id})
    await set_created(queued.id, received)
    async with get_client() as client:
        flow_run = await client.read_flow_run(queued.id)

    first = await execute(flow_run)
    after_first = await letters(request_id)
    text = await shown(DELAY, request_id)
    done, confirmed = await Flows(deployments).confirm_all(first, by="Ola Drift", what="deleted at the supplier")

    sent = await letters(request_id)
    expected = expected_after_wait(received.date(), datetime.now(OSLO).date())
    assert ("SUSPENDED", "confirm-1-manual-kalibrert-as") == (first.state_name, pause_key(first))
    assert ("COMPLETED", ["manual-kalibrert-as", "credicare", "manual-apility-as", "manual-relisec-as"]) == (
        done.state_name, confirmed)
    assert [ACKNOWLEDGMENT, DELAY] == [letter["kind"] for letter in after_first]
    delay = after_first[1]
    assert (["person"], ["Kalibrert AS"], True, expected.isoformat()) == (
        delay["waits_for"], delay["at"], delay["marketing_waits"], delay["expected"])
    assert [ACKNOWLEDGMENT, DELAY] == [letter["kind"] for letter in sent]
    assert "A step at Kalibrert AS, a supplier without an API, waits for one of our staff" in text
    assert "Et steg hos Kalibrert AS, en leverandør uten API" in text
    assert (False, False) == ("Marketing has already stopped." in text, member.member_id in text)


async def test_a_withdrawal_waiting_for_a_persons_step_past_the_deadline_sends_one_letter_naming_the_step(
        sandbox, deployments):
    """An Aktiv365 withdrawal of marketing consent received five weeks ago waits for Kalibrert (no API): before it
    suspends, the member gets one delay letter naming Kalibrert AS, and confirming the step sends no other."""
    request_id = f"letters-withdrawn-{uuid4().hex[:8]}"
    member = sandbox.add_member(chain="aktiv365")
    async with get_client() as client:
        queued = await client.create_flow_run_from_deployment(
            deployments["withdraw-marketing"], idempotency_key=request_id,
            parameters={"controller": "aktiv365", "member_id": member.member_id, "request_id": request_id})
    await set_created(queued.id, datetime.now(UTC) - timedelta(weeks=5))
    async with get_client() as client:
        flow_run = await client.read_flow_run(queued.id)

    first = await run_deployment("withdraw-marketing", flow_run)
    done, confirmed = await Flows(deployments).confirm_all(first, by="Ola Drift", what="removed at the agency")

    sent = await letters(request_id)
    assert ("SUSPENDED", "COMPLETED", ["manual-kalibrert-as"]) == (first.state_name, done.state_name, confirmed)
    assert [(DELAY, ["person"], ["Kalibrert AS"])] == [
        (letter["kind"], letter["waits_for"], letter["at"]) for letter in sent]


async def test_the_daily_check_tells_a_waiting_request_of_its_delay_on_its_deadline(sandbox, run_erasure):
    """A request waiting for its final invoice gets no delay letter from the daily check the day before its
    deadline, one on the deadline, and no second one the day after."""
    request_id = f"letters-daily-{uuid4().hex[:8]}"
    run = await run_erasure("M1002", request_id=request_id)
    deadline = gdpr_deadline(datetime.now(UTC).date())

    before = await deadline_check(today=deadline - timedelta(days=1))
    kinds_before = [letter["kind"] for letter in await letters(request_id)]
    on_the_day = await deadline_check(today=deadline)
    after = await deadline_check(today=deadline + timedelta(days=1))

    sent = await letters(request_id)
    text = await shown(DELAY, request_id)
    await cancel(run)
    assert "SUSPENDED" == run.state_name
    assert [ACKNOWLEDGMENT] == kinds_before
    assert [ACKNOWLEDGMENT, DELAY] == [letter["kind"] for letter in sent]
    assert (deadline.isoformat(), deadline.isoformat()) == (sent[1]["sent"], sent[1]["deadline"])
    assert (True, True, True) == (before["requests"] >= 1, on_the_day["delay-letters"] >= 1, after["requests"] >= 1)
    assert "Your final invoice is not paid." in text


async def test_the_daily_check_names_the_supplier_a_request_waiting_for_a_persons_step_waits_at(sandbox,
                                                                                               deployments):
    """An Aktiv365 request whose run waits for a person at Kalibrert (a marketing agency with no API) since it was
    registered, within its deadline, gets its delay letter from the daily check on its deadline: the reason names
    Kalibrert AS, and the letter does not claim marketing has stopped there."""
    member = sandbox.add_member(chain="aktiv365")
    run = await Flows(deployments).erase("aktiv365", member.member_id)
    request_id = run.flow_run.parameters["request_id"]
    deadline = add_working_days(datetime.now(OSLO).date(), 2)

    counts = await deadline_check(today=deadline)

    sent = await letters(request_id)
    text = await shown(DELAY, request_id)
    await cancel(run)
    assert ("SUSPENDED", "confirm-1-manual-kalibrert-as") == (run.state_name, pause_key(run))
    assert [(ACKNOWLEDGMENT, None, None), (DELAY, ["Kalibrert AS"], True)] == [
        (letter["kind"], letter.get("at") if letter["kind"] == DELAY else None,
         letter.get("marketing_waits") if letter["kind"] == DELAY else None) for letter in sent]
    assert "A step at Kalibrert AS, a supplier without an API, waits for one of our staff" in text
    assert (False, True) == ("Marketing has already stopped." in text, counts["delay-letters"] >= 1)


async def test_letter_command_prints_the_acknowledgment_and_says_when_no_delay_letter_was_sent(
        sandbox, run_erasure, capsys):
    """`slett letter <request> --kind acknowledgment --lang en` prints the English acknowledgment the chain sends
    the member; `--kind delay` for a request still within its deadline says none was sent."""
    request_id = f"letters-cli-{uuid4().hex[:8]}"
    run = await run_erasure("M1002", request_id=request_id)

    printed = await slett("letter", request_id, "--kind", "acknowledgment", "--lang", "en")
    english = capsys.readouterr().out
    missing = await slett("letter", request_id, "--kind", "delay")
    out = capsys.readouterr().out
    await cancel(run)

    assert (0, 1) == (printed, missing)
    assert english.startswith("# We have received your request · Demo Trening AS") and "Vi har" not in english
    assert f"no delay letter for request {request_id}: none was sent" in out
