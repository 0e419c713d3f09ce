"""Aktiv365's promises (seed 000), each proven by the chain's own purge-guests, erase-member and reconcile runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from prefect import get_client

from config.dates import add_years
from config.workdays import add_working_days, expected_after_wait
from domain.values import OSLO, Step
from flows.deadline_check import deadline_check
from tests.chains.releases import releases_of
from tests.flow_driver import execute, pause_key, release_runs
from tests.flows.test_letters import cancel, letters, shown

AS_OF = date(2026, 11, 23)
GUEST_SYSTEMS = ("exceline", "ibooking", "fixit")
MANUAL = ["manual-kalibrert-as", "manual-apility-as", "manual-relisec-as"]


def rows(evidence) -> dict[str, Step]:
    return {step.system: step for step in evidence.steps}


async def test_aktiv365_deletes_visitors_with_no_paying_agreement_after_6_months(sandbox, flows):
    """"Registrerte besøkende som ikke har inngått en betalende avtale vil bli slettet etter 6 mnd.": a guest
    whose six months end today is purged from the membership and both booking systems (kept on the day, never
    the day after); one whose six months end tomorrow stays."""
    stale = sandbox.add_guests(GUEST_SYSTEMS, 40, last_visit=date(2026, 5, 23))
    recent = sandbox.add_guests(GUEST_SYSTEMS, 25, last_visit=date(2026, 5, 24))

    run = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": AS_OF.isoformat()})

    assert {f"aktiv365/guests/{system}": 40 for system in GUEST_SYSTEMS} == await run.result()
    for system in GUEST_SYSTEMS:
        guests = sandbox.guests[system]
        assert [None] * 40 == [guests.number_of(guests.id_of(n)) for n in stale[system]]
        assert list(recent[system]) == [guests.number_of(guests.id_of(n)) for n in recent[system]]


async def test_aktiv365_erases_everywhere_after_people_confirm_the_suppliers_with_no_api(sandbox, flows):
    """Kalibrert (marketing) is asked for at once, Credicare, Apility and Relisec after settlement, each in a form; the
    confirmations, who and when, are in the evidence, and the membership system is anonymised last."""
    member = sandbox.add_member(chain="aktiv365")

    first = await flows.erase("aktiv365", member.member_id)
    assert ("SUSPENDED", "confirm-1-manual-kalibrert-as") == (first.state_name, pause_key(first))

    run, confirmed = await flows.confirm_all(first, by="Ola Drift", what="deleted from the CRM", on=AS_OF)

    evidence = await run.result()
    steps = rows(evidence)
    assert ("COMPLETED", ["manual-kalibrert-as", "credicare", *MANUAL[1:]]) == (run.state_name, confirmed)
    assert [("confirmed", True, "Ola Drift", AS_OF, "Kalibrert AS")] == [
        (s.status, s.verified, s.confirmed_by, s.confirmed_on, s.supplier) for s in [steps["manual-kalibrert-as"]]]
    assert {"erased"} == {steps[s].status for s in ("ibooking", "fixit", "nets")}
    assert "anonymised" == steps["exceline"].status
    assert "exceline" == sandbox.destructive_calls_for(member.member_id)[-1]


async def test_aktiv365_claim_in_collection_is_held_and_credicare_notified(sandbox, flows):
    """A claim with Credicare does not wait for settlement (GDPR 17(3)(e)): the claim is held, restricted, until
    its limitation ends (or it is paid) while the rest of the record is anonymised at once, and a person
    confirms Credicare, the chain's processor, restricted its copy."""
    member = sandbox.add_member(chain="aktiv365", in_collection=True)

    run, confirmed = await flows.confirm_all(await flows.erase("aktiv365", member.member_id), on=AS_OF)

    evidence = await run.result()
    steps = rows(evidence)
    claim = next(h for h in evidence.holds if h.key == "exceline-claim")
    due = min(i.due_date for i in sandbox.exceline.members[member.member_id].invoices if i.status == "collection")
    assert ("COMPLETED", ["manual-kalibrert-as", "credicare", *MANUAL[1:]]) == (run.state_name, confirmed)
    assert ("anonymised", "confirmed", "restrict") == (steps["exceline"].status, steps["credicare"].status,
                                                       steps["credicare"].action)
    assert (add_years(due, 3), False, "claim") == (claim.retain_until, claim.holds_record, claim.category)
    record = sandbox.exceline.members[member.member_id]
    [held] = [i.claim for i in record.invoices if i.claim]
    assert (True, None, True) == (record.anonymised, record.mobile, held["restricted"])


async def test_aktiv365_manual_step_not_confirmed_in_time_is_escalated_not_skipped(sandbox, flows):
    """A supplier step left unconfirmed past its seven days is failed by reconcile-settlements with the reason;
    a retry asks for the same step again, and only its confirmation lets the erasure go on."""
    member = sandbox.add_member(chain="aktiv365")
    waiting = await flows.erase("aktiv365", member.member_id)
    asked = datetime.now(OSLO).date()

    on_time = await flows.start("reconcile-settlements", {"controller": "aktiv365",
                                                          "as_of": (asked + timedelta(days=7)).isoformat()})
    assert 0 == (await on_time.result())["escalated"]

    late = await flows.start("reconcile-settlements", {"controller": "aktiv365",
                                                       "as_of": (asked + timedelta(days=8)).isoformat()})

    assert (await late.result())["escalated"] >= 1
    async with get_client() as client:
        escalated = await client.read_flow_run(waiting.flow_run.id)
    assert escalated.state is not None and "FAILED" == escalated.state.type.value
    message = str(escalated.state.message)
    assert "Kalibrert AS" in message and f"due {asked + timedelta(days=7)}" in message
    assert "escalated" in escalated.tags
    assert [] == sandbox.applied_calls(member.member_id)  # nothing went on past the unconfirmed step

    retried = await flows.again(waiting)
    assert ("SUSPENDED", "confirm-2-manual-kalibrert-as") == (retried.state_name, pause_key(retried))
    done, _ = await flows.confirm_all(retried)
    assert "COMPLETED" == done.state_name


async def test_aktiv365_credicare_invoicing_copy_is_held_for_bookkeeping_and_released_after_by_a_person(
        sandbox, flows):
    """"Credicare AS (fakturering og betalingsinnkreving)", a processor under Aktiv365's data processing agreement,
    invoices every member: at erasure a person restricts Credicare's copy of the invoicing data and confirms it;
    the copy is held under bookkeeping from the membership system's invoice dates (each financial year's to 31
    December five years on). On the hold's date the daily sweep asks a person in a run of its own (once, however
    often the sweep runs) and goes on; that run waits for the person's word and then seals the release, naming
    who confirmed it. Not a day before."""
    member = sandbox.add_member(chain="aktiv365")

    run, confirmed = await flows.confirm_all(await flows.erase("aktiv365", member.member_id), by="Ola Drift",
                                             on=AS_OF)

    evidence = await run.result()
    request_id = run.flow_run.parameters["request_id"]
    step = rows(evidence)["credicare"]
    holds = [(h.retain_until, h.records_through, h.category) for h in evidence.holds
             if h.key == "credicare-bookkeeping"]
    assert ("COMPLETED", "credicare") == (run.state_name, confirmed[1])
    assert ("restrict", "confirmed", True, "Ola Drift", "Credicare AS") == (
        step.action, step.status, step.verified, step.confirmed_by, step.supplier)
    assert [(date(2030, 12, 31), date(2025, 12, 1), "invoices"),
            (date(2031, 12, 31), date(2026, 1, 1), "invoices")] == holds
    held = (await release_runs(request_id))["credicare-bookkeeping"]
    early = await flows.release(held, date(2030, 12, 30))
    assert "nothing due" == await early.result()

    sweep = await flows.start("release-holds", {"as_of": "2030-12-31", "request_id": request_id})
    again = await flows.start("release-holds", {"as_of": "2030-12-31", "request_id": request_id})

    key = f"{request_id}:credicare-bookkeeping"
    assert ("asked_a_person", "asked_a_person") == ((await sweep.state.result())[key],
                                                    (await again.state.result())[key])
    [asked] = await flows.waiting_release_runs(request_id)
    waiting = await execute("release-holds", asked)
    assert ("SUSPENDED", "confirm-1-release-credicare") == (waiting.state_name, pause_key(waiting))
    done = await flows.resume_release(waiting, {"confirmed_by": "Kari Drift", "what_was_done": "slettet hos Credicare",
                                                "done_on": "2030-12-31"})

    assert ("COMPLETED", "released") == (done.state_name, (await done.state.result())[key])
    rows_now = [(s.hold.retain_until, s.status) for s in await hold_states(request_id)
                if s.hold.key == "credicare-bookkeeping"]
    assert (date(2030, 12, 31), "released") in rows_now and (date(2031, 12, 31), "held") in rows_now
    released = [r for r in await releases_of(request_id) if r["system"] == "credicare" and r["status"] == "confirmed"]
    assert ["2030-12-31"] == [r["retain_until"] for r in released]
    assert "Kari Drift" in released[0]["detail"]


async def hold_states(request_id: str):
    """The request's hold rows in the ledger, newest state of each."""
    from config.settings import load_settings
    from evidence.ledger import open_ledger

    return await (await open_ledger(load_settings().ledger_url)).hold_states([request_id])
async def test_aktiv365_active_member_request_is_answered_after_the_marketing_agency_is_told(sandbox, flows):
    """"Du kan velge å takke nei til dette": while the membership runs (the seed says no more: an assumption in its
    policy), Kalibrert is asked to stop marketing and a person confirms it, the consents are withdrawn, and nothing
    else is erased; the evidence says the membership's last day."""
    until = AS_OF + timedelta(days=400)
    member = sandbox.add_member(chain="aktiv365", member_until=until)

    run, confirmed = await flows.confirm_all(await flows.erase("aktiv365", member.member_id, kind="erasure"))

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    assert ("COMPLETED", ["manual-kalibrert-as"], until) == (run.state_name, confirmed, evidence.kept_while_member)
    assert ({"manual-kalibrert-as", "exceline-marketing"}, []) == (set(rows(evidence)),
                                                                   sandbox.destructive_calls_for(member.member_id))
    assert (False, [False, False]) == (record.anonymised, [c["granted"] for c in record.consents])
async def test_aktiv365_answers_within_2_virkedager_and_says_why_when_the_run_waits_longer(sandbox, flows):
    """"henvendelser vil bli besvart innen 2 virkedager": a member who owes the final invoice is acknowledged
    before anything waits (Kalibrert stopped by a person, the invoice), the answer promised by the second working
    day; still waiting on that day, the daily deadline check sends one delay letter saying why and by when."""
    member = sandbox.add_member(chain="aktiv365", open_invoice=True)
    received = datetime.now(UTC).date()
    deadline = add_working_days(received, 2)

    first = await flows.erase("aktiv365", member.member_id)
    request_id = first.flow_run.parameters["request_id"]
    acknowledged = await letters(request_id)
    run, confirmed = await flows.confirm_all(first, by="Ola Drift", what="deleted from the CRM")
    await deadline_check(today=deadline)
    await deadline_check(today=deadline + timedelta(days=1))

    sent = await letters(request_id)
    text = await shown("delay", request_id)
    await cancel(run)
    assert ("SUSPENDED", "confirm-1-manual-kalibrert-as") == (first.state_name, pause_key(first))
    assert [("acknowledgment", ["settlement", "person"], deadline.isoformat())] == [
        (letter["kind"], letter["waits_for"], letter["expected"]) for letter in acknowledged]
    assert (["manual-kalibrert-as"], "settlement-1") == (confirmed, pause_key(run))
    assert [("acknowledgment", None), ("delay", deadline.isoformat())] == [
        (letter["kind"], letter["sent"] if letter["kind"] == "delay" else None) for letter in sent]
    assert (["settlement"], expected_after_wait(received, deadline).isoformat()) == (sent[1]["waits_for"],
                                                                                      sent[1]["expected"])
    assert "Sluttfakturaen din er ikke betalt." in text and "Datatilsynet" in text
