"""Stripe's release: held charges redacted by redaction jobs of at most 10, each validated, run once ready, polled."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from sandbox.stripe import stripe_id, unix

PAYMENTS = ("payments",)


def held_charges(sandbox: Any, member_id: str, count: int) -> list[str]:
    """`count` more paid charges for the member (ids in order), like the course payment they already have."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == member_id]
    made = [{**course, "id": stripe_id("ch", f"{member_id}-{n}"), "metadata": {"member_id": member_id},
             "billing_details": dict(course["billing_details"])} for n in range(count - 1)]
    sandbox.stripe.charges += made
    return sorted([course["id"], *(c["id"] for c in made)])


def redacted(sandbox: Any, charge_ids: list[str]) -> list[str]:
    """Those of the charges whose personal data Stripe redacted."""
    return [c["id"] for c in sandbox.stripe.charges
            if c["id"] in charge_ids and "[redacted]" == c["billing_details"]["email"]]


async def polled(stripe: Any, outcome: Outcome, limit: int = 20) -> tuple[Outcome, int]:
    """Poll a release's jobs as the release flow does until they end; the last outcome and the polls it took."""
    for polls in range(limit):
        if outcome.status is not Status.ACCEPTED:
            return outcome, polls
        outcome = await stripe.poll(outcome.reference)
    raise AssertionError(f"jobs still running after {limit} polls")


async def released(open_connector: Any, member_id: str, key: str = "r1") -> tuple[Outcome, Outcome, int]:
    """Delete the member's customer, release what its charges held; the first outcome, the last, the polls."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", member_id))
        await stripe.erase(holdings, Action.DELETE, "k1")
        first = await stripe.release(await stripe.lookup(Subject("vekstly", member_id)), PAYMENTS, key)
        last, polls = await polled(stripe, first)
    return first, last, polls


async def test_25_held_charges_go_through_the_whole_job_lifecycle(open_connector, sandbox):
    """25 charges make three jobs (10, 10, 5); none is ready at once, each is run only once ready and polled
    until it succeeded; then all 25 are redacted, each job run once, and a lookup finds nothing."""
    charges = held_charges(sandbox, "M1301", 25)

    first, last, polls = await released(open_connector, "M1301")

    jobs = [sandbox.stripe.redactions[job] for job in str(first.reference).split()]
    assert [10, 10, 5] == [len(job["objects"]["charges"]) for job in jobs]
    assert charges == sorted(c for job in jobs for c in job["objects"]["charges"])
    assert (Status.ACCEPTED, 25) == (first.status, first.count)
    assert (Status.ERASED, Action.RELEASE, 25, first.reference) == (last.status, last.action, last.count,
                                                                     last.reference)
    assert 2 == polls  # the release saw it validating; a poll saw it ready and ran it; the next saw it succeeded
    assert ["succeeded"] * 3 == [job["status"] for job in jobs]
    assert 25 == len(redacted(sandbox, charges))
    assert 3 == len([c for c in sandbox.applied_calls("M1301") if c.action == "redact"])
    async with open_connector("stripe") as (stripe, _):
        assert not (await stripe.lookup(Subject("vekstly", "M1301"))).found


async def test_a_job_that_fails_validation_is_escalated_with_its_errors(open_connector, sandbox):
    """One charge Stripe cannot redact fails its job's validation: the other jobs still run to the end, and the
    release fails with the job, the error's code and the charge it names (never Stripe's message); that job's
    charges keep their data."""
    charges = held_charges(sandbox, "M1301", 25)
    sandbox.stripe.unredactable[charges[12]] = "invalid_state"

    first, last, _ = await released(open_connector, "M1301")

    failed = [job for job in str(first.reference).split() if sandbox.stripe.redactions[job]["status"] == "failed"]
    assert 1 == len(failed)
    assert (Status.FAILED, False, 15) == (last.status, last.verified, last.count)
    assert f"{failed[0]} failed validation: invalid_state on {charges[12]}" in last.detail
    assert "cannot be redacted" not in last.detail
    assert 15 == len(redacted(sandbox, charges))


async def test_a_canceled_job_is_escalated_with_the_reason(open_connector, sandbox):
    """A job someone canceled in Stripe's Dashboard redacts nothing: the release fails and says so."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", "M1301"))
        await stripe.erase(holdings, Action.DELETE, "k1")
        first = await stripe.release(await stripe.lookup(Subject("vekstly", "M1301")), PAYMENTS, "r1")
        sandbox.stripe.redactions[first.reference]["status"] = "canceling"  # canceled in the Dashboard
        last, _ = await polled(stripe, first)

    assert (Status.FAILED, 0) == (last.status, last.count)
    assert f"{first.reference} was canceled (in Stripe's Dashboard or API): it redacted nothing" in last.detail


async def test_a_release_again_with_its_key_finds_the_same_jobs(open_connector, sandbox):
    """Released again with the same key (a rerun), Stripe replays the jobs' creation: no second job is made."""
    held_charges(sandbox, "M1301", 12)
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", "M1301"))
        await stripe.erase(holdings, Action.DELETE, "k1")
        kept = await stripe.lookup(Subject("vekstly", "M1301"))
        first = await stripe.release(kept, PAYMENTS, "r1")
        again = await stripe.release(kept, PAYMENTS, "r1")

    assert first.reference == again.reference
    assert 2 == len(sandbox.stripe.redactions)


async def test_release_through_a_day_keeps_newer_charges(open_connector, sandbox):
    """A release of the payments made up to a day redacts those and leaves a newer payment's record alone."""
    member = sandbox.member("M1301")
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    newer = {**course, "id": "ch_newer", "created": unix(date(2027, 3, 1)),
             "billing_details": {**course["billing_details"]}}
    sandbox.stripe.charges.append(newer)
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", "M1301"))
        await stripe.erase(holdings, Action.DELETE, "k1")
        first = await stripe.release(holdings, PAYMENTS, "r1", through=date(2026, 12, 31))
        last, _ = await polled(stripe, first)

    assert (Status.ERASED, 1, member.email) == (last.status, last.count, newer["billing_details"]["email"])


async def test_nothing_left_to_redact_is_already_absent(open_connector, sandbox):
    """Once the charges are redacted, a release finds nothing held and makes no job."""
    await released(open_connector, "M1301")
    async with open_connector("stripe") as (stripe, _):
        again = await stripe.release(charges_held(sandbox, "M1301"), PAYMENTS, "r2")

    assert Status.ALREADY_ABSENT == again.status
    assert 1 == len(sandbox.stripe.redactions)


def charges_held(sandbox: Any, member_id: str) -> Holdings:
    """Holdings naming the member's charges, as a hold kept them."""
    ids = [c["id"] for c in sandbox.stripe.charges if c["customer"] == stripe_id("cus", member_id)]
    return Holdings.of("stripe", ids=ids, categories={"payments"})


async def test_poll_knows_only_redaction_jobs(open_connector):
    """A reference that is not a redaction job is a Permanent error."""
    async with open_connector("stripe") as (stripe, _):
        with pytest.raises(Permanent, match="no asynchronous jobs but redactions"):
            await stripe.poll("prj_1 job_2")


async def test_a_job_the_old_release_started_is_polled_to_its_end(open_connector, sandbox):
    """A release written by the code before batches (one job, run at once, its id the reference) still ends:
    polled by this code, it is erased once Stripe finished redacting."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    job = sandbox.stripe.new_job([course["id"]])
    job["status"] = "redacting"  # the old code created it and ran it at once
    async with open_connector("stripe") as (stripe, _):
        last, polls = await polled(stripe, Outcome.accepted("stripe", job["id"], Action.RELEASE))

    assert (Status.ERASED, 1, 1) == (last.status, last.count, polls)
    assert [course["id"]] == redacted(sandbox, [course["id"]])
