"""erase-member end to end against the sandbox, under one Prefect test server."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from prefect import get_client
from prefect.states import Crashed, Scheduled

from config.dates import add_years
from config.settings import load_settings
from evidence.ledger import open_ledger
from sandbox.people import JOURNAL_LAST_ENTRY
from tests.flows.conftest import execute, table_rows

pytestmark = pytest.mark.slow


# M1001 is in two Mailchimp audiences and pays the invoice: Nets holds their payments (no stored card, no mandate).
# Exceline and Nets are erased per category (their data maps): each category one call, the held ones restricted.
# Ibooking per category: the bookings, then the customer (its profile).
ONE_ERASURE_OF_M1001 = Counter({("mailchimp", "delete"): 2, ("ibooking", "delete:bookings"): 1,
                                ("ibooking", "delete"): 1,
                                ("nets", "restrict:transactions"): 1, ("exceline", "restrict:invoices"): 1,
                                ("exceline", "restrict:contracts"): 1, ("exceline", "delete:photo"): 1,
                                ("exceline", "delete:visits"): 1, ("exceline", "delete:consents"): 1,
                                ("exceline", "anonymise:profile"): 1})


def statuses(evidence) -> dict[str, str]:
    return {step.system: step.status for step in evidence.steps}


async def test_settled_member_is_erased_everywhere_membership_last(sandbox, run_erasure):
    """A settled member is erased in every processor, verified, and the membership system goes last."""
    run = await run_erasure("M1001")

    evidence = await run.result()
    assert "COMPLETED" == run.state_name
    assert {"mailchimp": "erased", "ibooking": "erased", "nets": "erased", "physica": "already_absent",
            "exceline-marketing": "erased", "exceline": "anonymised"} == statuses(evidence)
    assert all(step.verified for step in evidence.steps)
    assert "exceline" == sandbox.destructive_calls_for("M1001")[-1]
    assert "mailchimp" == sandbox.destructive_calls_for("M1001")[0]


async def test_a_card_and_a_mandate_at_nets_wait_for_a_person_then_are_read_back(sandbox, run_erasure, resume):
    """A member with a card stored at Nexi Checkout and an AvtaleGiro mandate: no call ends either, so the run
    suspends with a form for Nets naming both while the payments are already restricted; once the person has
    ended the cards with Nexi and confirmed, the cards are read back gone, the mandate rests on the confirmation,
    and the membership system goes last."""
    member = sandbox.add_member(card=True, mandate=True)

    first = await run_erasure(member.member_id)
    payments = sandbox.nets.payers[f"NC-{member.number}"].transactions
    asked = (first.state_name, first.flow_run.state.state_details.pause_key if first.flow_run.state else None,
             {p["restricted"] for p in payments}, "exceline" in sandbox.destructive_calls_for(member.member_id))
    sandbox.nets.end_at_nexi(member.member_id)
    run = await resume(first, {"confirmed_by": "Kari Drift", "what_was_done": "ended the card at Nexi; claims "
                                                                             "stopped on the KID",
                               "done_on": "2026-12-07"})

    evidence = await run.result()
    nets = next(step for step in evidence.steps if step.system == "nets")
    categories = {c.category: (c.status, c.verified) for c in nets.categories}
    assert ("SUSPENDED", "confirm-1-nets", {True}, False) == asked
    assert ("COMPLETED", "confirmed", True, "Kari Drift") == (run.state_name, nets.status, nets.verified,
                                                              nets.confirmed_by)
    assert {"card_tokens": ("confirmed", True), "avtalegiro_mandates": ("confirmed", True),
            "transactions": ("restricted", True)} == categories
    assert "exceline" == sandbox.destructive_calls_for(member.member_id)[-1]


async def test_a_card_still_stored_at_nexi_after_the_confirmation_is_not_verified(sandbox, run_erasure, resume,
                                                                                   artifacts):
    """A person confirms the card ended, but Nexi still has it: the read-back says so and the run fails with Nets
    confirmed but not verified, for an operator to look at."""
    member = sandbox.add_member(card=True)

    first = await run_erasure(member.member_id, request_id="card-still-stored")
    run = await resume(first, {"confirmed_by": "Kari Drift", "what_was_done": "asked Nexi", "done_on": "2026-12-07"})

    rows = {row["system"]: row for row in table_rows((await artifacts("erasure-card-still-stored"))[0])}
    assert ("FAILED", "confirmed", "no") == (run.state_name, rows["nets"]["status"], rows["nets"]["verified"])
    assert "2 card(s) stored at Nexi Checkout still held" in rows["nets"]["detail"]


async def test_open_invoice_blocks_erasure(sandbox, run_erasure):
    """While the final invoice is open, nothing but marketing is touched and the run suspends."""
    run = await run_erasure("M1002")

    assert "SUSPENDED" == run.state_name
    assert ["mailchimp"] == sandbox.destructive_calls_for("M1002")


async def test_open_invoice_member_completes_after_settlement(sandbox, run_erasure, resume):
    """Once the invoice is paid and the run resumed, the erasure completes without repeating marketing."""
    suspended = await run_erasure("M1002")
    sandbox.settle("M1002")

    run = await resume(suspended, {"confirmed_by": "test operator"})

    assert "COMPLETED" == run.state_name
    assert "anonymised" == statuses(await run.result())["exceline"]
    assert 1 == sandbox.destructive_calls_for("M1002").count("mailchimp")


async def test_resume_without_settlement_suspends_again(sandbox, run_erasure, resume):
    """A resume while the invoice is still open checks again and suspends again, erasing nothing more."""
    suspended = await run_erasure("M1002")

    run = await resume(suspended, {"confirmed_by": "too early"})

    assert "SUSPENDED" == run.state_name
    assert ["mailchimp"] == sandbox.destructive_calls_for("M1002")


async def test_a_crashed_run_rerun_after_an_answer_waits_on_the_next_key_and_can_be_resumed(sandbox, run_erasure,
                                                                                            resume):
    """A rerun (Prefect then forgets the used keys) skips the answered settlement-1 and waits on settlement-2,
    so the next resume is taken rather than refused for ever."""
    too_early = await resume(await run_erasure("M1002"), {"confirmed_by": "too early"})
    async with get_client() as client:
        await client.set_flow_run_state(too_early.flow_run.id, Crashed(message="worker died"), force=True)
        await client.set_flow_run_state(too_early.flow_run.id, Scheduled(name="AwaitingRecovery"))
        rerun = await execute(await client.read_flow_run(too_early.flow_run.id))
    sandbox.settle("M1002")

    settled = await resume(rerun, {"confirmed_by": "test operator"})

    assert "settlement-2" == rerun.state.state_details.pause_key
    assert "COMPLETED" == settled.state_name
    assert 1 == sandbox.destructive_calls_for("M1002").count("mailchimp")


async def test_holds_carry_the_right_dates_and_go_to_the_ledger(sandbox, run_erasure):
    """Invoices are held to 31 Dec of their year + 5 years, the journal to last entry + 10 years; each hold
    is in the ledger, held, written by the erasure's run, with no release run scheduled."""
    run = await run_erasure("M1003")

    evidence = await run.result()
    holds = {hold.key: hold for hold in evidence.holds}
    last_invoice = sandbox.exceline_last_invoice_date("M1003")
    assert date(last_invoice.year + 5, 12, 31) == holds["exceline-bookkeeping"].retain_until
    assert add_years(JOURNAL_LAST_ENTRY, 10) == holds["physica-journal"].retain_until
    assert holds["physica-journal"].review_only
    assert "restricted" == statuses(evidence)["physica"]
    physica = next(step for step in evidence.steps if step.system == "physica")
    ledger = await open_ledger(load_settings().ledger_url)
    states = await ledger.hold_states([evidence.request.request_id])
    assert sorted(evidence.holds, key=lambda h: (h.retain_until, h.key)) == sorted(
        (s.hold for s in states), key=lambda h: (h.retain_until, h.key))
    assert {("held", str(run.flow_run.id))} == {(s.status, s.flow_run_id) for s in states}
    assert physica.release_run is None


async def test_rerun_of_finished_request_changes_nothing(sandbox, run_erasure):
    """Running a finished request again (by hand, same request id) calls nothing destructive and reports
    the same outcome."""
    first = await run_erasure("M1001", request_id="rerun-m1001")
    calls_before = sandbox.applied_calls("M1001")

    again = await run_erasure("M1001", request_id="rerun-m1001", idempotency_suffix="by-hand")

    assert "COMPLETED" == again.state_name
    assert statuses(await first.result()) == statuses(await again.result())
    assert calls_before == sandbox.applied_calls("M1001")
    assert ONE_ERASURE_OF_M1001 == Counter((c.system, c.action) for c in calls_before)


async def test_rerun_after_failure_resumes_without_repeating(sandbox, run_erasure):
    """When a processor keeps failing the run fails visibly with the membership system untouched; a
    rerun finishes the rest and applies each destructive call once."""
    sandbox.faults["ibooking"].configure(error_rate=1.0)

    failed = await run_erasure("M1001", request_id="fail-m1001")

    assert "FAILED" == failed.state_name
    assert "exceline" not in sandbox.destructive_calls_for("M1001")

    sandbox.faults["ibooking"].reset()
    again = await run_erasure("M1001", request_id="fail-m1001", idempotency_suffix="retry")

    assert "COMPLETED" == again.state_name
    assert ONE_ERASURE_OF_M1001 == Counter((c.system, c.action) for c in sandbox.applied_calls("M1001"))
    assert "exceline" == sandbox.destructive_calls_for("M1001")[-1]


async def test_unknown_member_fails_and_erases_nothing(sandbox, run_erasure):
    """A member id the membership system does not know fails the run and touches no processor."""
    run = await run_erasure("M9999")

    assert "FAILED" == run.state_name
    assert [] == sandbox.destructive_calls_for("M9999")


async def test_evidence_artifact_names_no_personal_data(sandbox, run_erasure, artifacts):
    """The evidence table and the letter are on the run, keyed by request, with the subject only as a
    reference."""
    await run_erasure("M1001", request_id="artifact-m1001")

    table = (await artifacts("erasure-artifact-m1001"))[0]
    letter = (await artifacts("letter-artifact-m1001"))[0]
    member = sandbox.member("M1001")
    text = f"{table.data}{table.description}{letter.data}"
    assert "sr-" in table.description
    assert [] == [value for value in member.personal_values() if value in text]


async def test_processor_failing_at_delete_is_escalated_and_membership_kept(sandbox, run_erasure, artifacts):
    """A processor that keeps answering 500 to the delete ends the run FAILED, with the failure and the
    membership system left pending in the evidence; nothing is silently skipped."""
    sandbox.faults["ibooking"].script("ok", "ok", "500", "500", "500")

    run = await run_erasure("M1001", request_id="delete-fails-m1001")

    assert "FAILED" == run.state_name
    rows = {row["system"]: row for row in table_rows((await artifacts("erasure-delete-fails-m1001"))[0])}
    assert ("failed", "no") == (rows["ibooking"]["status"], rows["ibooking"]["verified"])
    assert "HTTP 500" in rows["ibooking"]["detail"]
    assert "pending" == rows["exceline"]["status"]
    assert ("erased", "yes") == (rows["nets"]["status"], rows["nets"]["verified"])
    assert "exceline" not in sandbox.destructive_calls_for("M1001")


async def test_slett_log_lines_reach_the_prefect_ui_redacted(sandbox, run_erasure):
    """A retried processor call is logged by slett's logger into the run's logs in Prefect, and the
    member's e-mail never appears there."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    sandbox.faults["ibooking"].configure(retry_after=0).script("503")

    run = await run_erasure("M1001")
    # Prefect ships run logs in batches every few seconds; a run in this process ends before the next.
    await APILogHandler.aflush()

    async with get_client() as client:
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.flow_run.id])))
    retried = [log for log in logs if log.name == "slett.http"]
    assert "COMPLETED" == run.state_name
    assert 1 == len(retried)
    assert "ibooking" in retried[0].message
    assert not any(sandbox.member("M1001").email in log.message for log in logs)


async def test_an_unknown_member_ends_not_known_and_nothing_erased(sandbox, run_erasure):
    """An id the membership system does not know ends the request with "not known at <membership system>;
    nothing was erased", and no processor is called to erase anything."""
    run = await run_erasure("M9999")

    assert "FAILED" == run.state_name
    assert run.state.message.endswith("UnknownMember: member M9999 is not known at exceline; nothing was erased")
    assert [] == sandbox.destructive_calls_for("M9999")


async def test_an_active_member_who_asks_to_be_forgotten_is_never_erased_silently(sandbox, run_erasure):
    """A chain whose policy keeps nothing while the membership runs (the demo chain) erases as the member asked,
    and the evidence says the membership still ran until its last day."""
    until = date(2099, 1, 31)
    member = sandbox.add_member(member_until=until)

    run = await run_erasure(member.member_id, kind="erasure")

    evidence = await run.result()
    assert ("COMPLETED", "anonymised", None) == (run.state_name, statuses(evidence)["exceline"],
                                                 evidence.kept_while_member)
    assert [f"the membership still ran until {until}" in note for note in evidence.notes] == [True]
