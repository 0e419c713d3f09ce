"""K24's promises (seed 001), each proven by the chain's own erase-member and release-holds runs."""

from __future__ import annotations

from datetime import timedelta

from config.dates import journal_review_day
from sandbox.people import JOURNAL_LAST_ENTRY
from tests.flow_driver import release_runs


def statuses(evidence) -> dict[str, str]:
    return {step.system: step.status for step in evidence.steps}


async def test_k24_keeps_physica_and_eziteq_journals(sandbox, flows):
    """"våre journal- og medlemssystemer Physica og Eziteq": the Physica journal is restricted and the
    Eziteq journal notes kept while the member is anonymised; both are reviewed by a clinician ten years
    after the last entry and neither is deleted by their release runs."""
    member = sandbox.add_member(chain="k24", journal=True)

    run = await flows.erase("k24", member.member_id)

    evidence = await run.result()
    holds = {hold.key: hold for hold in evidence.holds}
    record = sandbox.eziteq.members[member.member_id]
    patient = next(p for p in sandbox.physica.patients.values() if p.external_ref == member.member_id)
    assert "COMPLETED" == run.state_name
    assert ("restricted", "anonymised") == (statuses(evidence)["physica"], statuses(evidence)["eziteq"])
    assert journal_review_day(JOURNAL_LAST_ENTRY) == holds["physica-journal"].retain_until
    assert journal_review_day(JOURNAL_LAST_ENTRY) == holds["eziteq-journal"].retain_until
    assert holds["physica-journal"].review_only and holds["eziteq-journal"].review_only
    notes = len(record.journal_notes)
    assert notes and patient.restricted
    scheduled = await release_runs(run.flow_run.parameters["request_id"])

    for key in ("physica-journal", "eziteq-journal"):
        review = await flows.release(scheduled[key], holds[key].retain_until + timedelta(days=1))
        assert "review" == await review.result()

    assert (notes, True) == (len(record.journal_notes), patient.patient_id in sandbox.physica.patients)


async def test_k24_deletes_lifevision_contacts(sandbox, flows):
    """LifeVision ("digital medlemsdialog via SMS og e-post"): the contact and its messages are deleted at
    once, before anything else, and only a hashed suppression entry stays so the member is not re-added."""
    member = sandbox.add_member(chain="k24")

    run = await flows.erase("k24", member.member_id)

    assert "COMPLETED" == run.state_name
    assert "lifevision" == sandbox.destructive_calls_for(member.member_id)[0]
    assert [] == [c for c in sandbox.lifevision.contacts.values() if c.external_id == member.member_id]
    assert sandbox.lifevision.suppressed(member.email, member.phone)
    assert "erased" == statuses(await run.result())["lifevision"]
