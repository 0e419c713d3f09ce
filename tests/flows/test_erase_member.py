"""erase-member end to end against the sandbox, under one Prefect test server."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from prefect import get_client
from prefect.states import Crashed, Scheduled

from config.dates import bookkeeping_last_day, journal_review_day
from config.settings import load_settings
from evidence.ledger import open_ledger
from sandbox.people import JOURNAL_LAST_ENTRY
from tests.flows.conftest import execute, recorded_task_runs, table_rows

pytestmark = pytest.mark.slow


# M1001 is in two Mailchimp audiences and has a card token and an AvtaleGiro mandate at Nets.
# Exceline is erased per category (its data map): each category one call, the held ones restricted.
# Ibooking per category: the bookings, then the customer (its profile).
ONE_ERASURE_OF_M1001 = Counter({("mailchimp", "delete"): 2, ("ibooking", "delete:bookings"): 1,
                                ("ibooking", "delete"): 1, ("nets", "delete"): 1,
                                ("nets", "mandate-deletion"): 1, ("exceline", "restrict:invoices"): 1,
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


async def test_only_a_processors_asynchronous_job_gets_a_task_run_to_poll_it(sandbox, run_erasure):
    """Of M1001's processors only Nets answers with a job (the AvtaleGiro mandate): one await-job task run."""
    run = await run_erasure("M1001")

    tasks = await recorded_task_runs(run.flow_run.id,
                                     lambda found: any(t.name.startswith("record-evidence") for t in found))
    names = Counter(t.name.rsplit("-", 1)[0] for t in tasks)
    assert "COMPLETED" == run.state_name
    assert 1 == names["await-job"]
    assert 5 == names["erase-in-system"]


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
    assert bookkeeping_last_day(last_invoice) == holds["exceline-bookkeeping"].retain_until
    assert date(last_invoice.year + 5, 12, 31) == holds["exceline-bookkeeping"].retain_until
    assert journal_review_day(JOURNAL_LAST_ENTRY) == holds["physica-journal"].retain_until
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
