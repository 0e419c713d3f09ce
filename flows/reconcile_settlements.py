"""The reconcile-settlements flow: suspended erasures looked at daily, so none waits forever.

A run waiting for settlement is resumed once the membership system says nothing is owed (a lost
`invoice.settled` webhook costs a day, not an erasure). A run waiting for a person to confirm a step at a
supplier with no API is escalated once the policy's time for it has passed: it is failed, visibly, with
the reason, and stays to be retried (the step is then asked for again), never skipped.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger

from domain.values import OSLO
from flows.setup import chain_policy, flow_settings
from queries.runs import ResumeRefused, step_of_key, suspended_runs
from tasks.reconcile import ask_settlement, asked_on, escalate, resume


@flow(name="reconcile-settlements", persist_result=True)
async def reconcile_settlements(controller: str | None = None, as_of: date | None = None) -> dict[str, int]:
    """Resume suspended erasures whose member has settled; escalate manual steps left too long.

    Args:
        controller: one chain, or empty for every chain.
        as_of: the day to judge overdue steps as of; empty for today in Europe/Oslo.
    """
    log = get_run_logger()
    settings = flow_settings()
    today = as_of or datetime.now(OSLO).date()
    counts = {"resumed": 0, "still_owing": 0, "escalated": 0, "awaiting_person": 0}
    for run in await suspended_runs(controller=controller):
        chain = str(run.parameters["controller"])
        member_id = str(run.parameters["member_id"])
        policy = chain_policy(chain, settings)
        key = run.state.state_details.pause_key if run.state else None
        if (step := step_of_key(key)) is not None:
            processor = policy.processor(step)
            asked = asked_on(run)
            due = processor.confirm_within.after(asked) if processor.confirm_within and asked else None
            if due is not None and today > due:
                await escalate(run.id, f"escalated: {processor.action} at {processor.supplier} was not confirmed "
                               f"within {processor.confirm_within} (asked {asked}, due {due}); do it, then "
                               "retry this run and confirm the step in its form")
                counts["escalated"] += 1
            else:
                counts["awaiting_person"] += 1
            continue
        facts = await ask_settlement(policy, member_id, settings)
        if policy.waits_for_settlement(facts.open_invoices, facts.in_collection):
            counts["still_owing"] += 1
            continue
        try:
            await resume(run.id)
        except ResumeRefused as refused:
            # A run Prefect will not resume (say, one suspended without its form by an older slett) must not
            # hold up the others, nor wait unseen: it is escalated with Prefect's reason.
            await escalate(run.id, f"escalated: the member has settled but Prefect refused to resume the run "
                           f"({refused}); retry this run")
            counts["escalated"] += 1
            continue
        counts["resumed"] += 1
    log.info("Reconciled suspended erasures as of %s: %s", today, counts)
    return counts
