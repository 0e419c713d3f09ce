"""Vekstly's promises (seed 004), each proven by the chain's own purge-guests, erase-member and release runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from config.dates import bookkeeping_last_day, withdrawal_last_day
from config.workdays import add_working_days
from domain.values import OSLO, artifact_key
from evidence.letter import words
from sandbox.people import COURSE_ENDED, COURSE_RUNNING_UNTIL
from sandbox.stripe import unix
from tests.flow_driver import release_runs
from tests.flows.test_letters import cancel, letters, shown


def today() -> date:
    return datetime.now(OSLO).date()


def customer_of(sandbox, member_id: str) -> str | None:
    return next((c.id for c in sandbox.ibooking.customers.values() if c.external_id == member_id), None)


def charge_of(sandbox, member_id: str) -> dict[str, Any]:
    customer = next(c for c in sandbox.stripe.customers.values() if c["metadata"]["member_id"] == member_id)
    return next(c for c in sandbox.stripe.charges if c["customer"] == customer["id"])


async def test_vekstly_deletes_course_data_when_the_course_ends_unless_asked_to_be_kept(sandbox, flows):
    """"når kurset du deltar på er over sletter vi data om deg, med mindre du ønsker at vi beholder det": the
    day after the course ends its participants are purged from the course system, except those who asked
    to be kept; participants of a course still running stay, and on the last day of the course no one goes."""
    ended = sandbox.add_member(chain="vekstly", course_end=COURSE_ENDED)
    kept = sandbox.add_member(chain="vekstly", course_end=COURSE_ENDED, keep_after_course=True)
    running = sandbox.add_member(chain="vekstly", course_end=COURSE_RUNNING_UNTIL)

    last_day = await flows.start("purge-guests", {"controller": "vekstly", "as_of": COURSE_ENDED.isoformat()})
    assert {"vekstly/course participants/ibooking": 0} == await last_day.result()

    run = await flows.start("purge-guests", {"controller": "vekstly",
                                             "as_of": (COURSE_ENDED + timedelta(days=1)).isoformat()})

    assert {"vekstly/course participants/ibooking": 2} == await run.result()  # `ended` and the seeded M1301
    assert customer_of(sandbox, ended.member_id) is None
    assert customer_of(sandbox, kept.member_id) is not None
    assert customer_of(sandbox, running.member_id) is not None


async def test_vekstly_deletes_stripe_data_once_paid_and_the_withdrawal_period_has_passed(sandbox, flows):
    """"frem til betalingen har gått igjennom eller til angreretten går ut": while the course payment is
    pending the erasure waits; once paid, the Stripe customer is kept, restricted, until the 14th day of the
    withdrawal period and deleted by the daily sweep on the hold's date, never before."""
    member = sandbox.add_member(chain="vekstly", course_end=COURSE_RUNNING_UNTIL, open_invoice=True)

    waiting = await flows.erase("vekstly", member.member_id, kind="erasure")
    assert ("SUSPENDED", ["mailchimp"]) == (waiting.state_name, sandbox.destructive_calls_for(member.member_id))

    paid_on = today() - timedelta(days=3)
    charge_of(sandbox, member.member_id).update(status="succeeded", paid=True, created=unix(paid_on))
    run = await flows.resume(waiting, {"confirmed_by": "test"})

    evidence = await run.result()
    withdrawal = next(h for h in evidence.holds if h.key == "stripe-withdrawal")
    customer = next(c for c in sandbox.stripe.customers.values() if c["metadata"]["member_id"] == member.member_id)
    assert "COMPLETED" == run.state_name
    assert "restricted" == {s.system: s.status for s in evidence.steps}["stripe"]
    assert (withdrawal_last_day(paid_on), "true") == (withdrawal.retain_until, customer["metadata"]["gdpr_restricted"])
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["stripe-withdrawal"]

    early = await flows.release(scheduled, paid_on + timedelta(days=13))
    assert ("nothing due", True) == (await early.result(), customer["id"] in sandbox.stripe.customers)

    due = await flows.release(scheduled, paid_on + timedelta(days=14))

    assert "released" == await due.result()
    assert customer["id"] not in sandbox.stripe.customers


async def test_vekstly_keeps_payment_records_for_bookkeeping_after_the_stripe_customer_is_deleted(sandbox, flows):
    """"informasjon knyttet til salg, som vi er pliktig til å regnskapsføre og oppbevare i henhold til
    bokføringsloven": the Stripe customer is deleted, its charge stays at Stripe as the payment record, held
    until 31 December five years after the payment's year; the evidence and the member's letter say so, and
    the daily sweep redacts the charge on the hold's date, not before."""
    member = sandbox.add_member(chain="vekstly", course_end=COURSE_ENDED)
    paid_on = today() - timedelta(days=30)
    charge = charge_of(sandbox, member.member_id)
    charge.update(created=unix(paid_on))

    run = await flows.erase("vekstly", member.member_id, kind="erasure")

    evidence = await run.result()
    request_id = run.flow_run.parameters["request_id"]
    [hold] = [h for h in evidence.holds if h.key == "stripe-bookkeeping"]
    last_day = date(paid_on.year + 5, 12, 31)
    assert (last_day, last_day, ("payments",)) == (hold.retain_until, bookkeeping_last_day(paid_on),
                                                   hold.categories)
    stripe = {s.system: s for s in evidence.steps}["stripe"]
    assert ("erased", str(last_day)) == (stripe.status, str(stripe.retain_until))
    assert [] == [c for c in sandbox.stripe.customers.values() if c["metadata"]["member_id"] == member.member_id]
    assert member.email == charge["billing_details"]["email"]
    letter = await letter_of(request_id)
    assert f"{last_day:%d.%m.%Y}" in letter and "bokføringsloven § 13" in letter
    scheduled = (await release_runs(request_id))["stripe-bookkeeping"]

    kept = await flows.release(scheduled, last_day - timedelta(days=1))
    assert ("nothing due", member.email) == (await kept.result(), charge["billing_details"]["email"])
    gone = await flows.release(scheduled, last_day)

    assert ("released", "[redacted]", {}) == (await gone.result(), charge["billing_details"]["email"],
                                              charge["metadata"])


async def letter_of(request_id: str) -> str:
    """The member's letter on the request's run (nb and en)."""
    async with get_client() as client:
        [letter] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key("letter", request_id)])),
            sort=ArtifactSort.CREATED_DESC, limit=1)
    return str(letter.data)


async def test_vekstly_acknowledges_a_request_with_its_answer_due_in_14_virkedager(sandbox, flows):
    """"innen 14 virkedager ... etter forespørsler": a participant whose course payment is pending is sent the
    acknowledgment before the run waits: the newsletter stopped, the payment waited for, and the answer
    promised by the 14th working day (Saturdays counted, Sundays and holidays not), in both languages."""
    member = sandbox.add_member(chain="vekstly", course_end=COURSE_RUNNING_UNTIL, open_invoice=True)
    deadline = add_working_days(datetime.now(UTC).date(), 14)

    waiting = await flows.erase("vekstly", member.member_id, kind="erasure")
    request_id = waiting.flow_run.parameters["request_id"]

    sent = await letters(request_id)
    text = await shown("acknowledgment", request_id)
    await cancel(waiting)
    assert "SUSPENDED" == waiting.state_name
    assert [("acknowledgment", ["settlement"], deadline.isoformat(), [("mailchimp", "erased")])] == [
        (letter["kind"], letter["waits_for"], letter["expected"],
         [(step["system"], step["status"]) for step in letter["stopped"]]) for letter in sent]
    assert f"Du får svar fra oss innen {words('nb').day(deadline)}." in text
    assert f"You will have our answer by {words('en').day(deadline)}." in text
