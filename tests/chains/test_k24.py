"""K24's promises (seed 001), each proven by the chain's own erase-member and release-holds runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from config.dates import add_years
from config.settings import load_settings
from domain.values import OSLO
from evidence.ledger import open_ledger
from evidence.letter import words
from sandbox.people import JOURNAL_LAST_ENTRY
from tests.flow_driver import release_runs
from tests.flows.test_letters import shown


def statuses(evidence) -> dict[str, str]:
    return {step.system: step.status for step in evidence.steps}


async def test_k24_keeps_physica_and_eziteq_journals(sandbox, flows):
    """"våre journal- og medlemssystemer Physica og Eziteq": the Physica journal is restricted and the
    Eziteq journal notes kept while the member is anonymised; both are reviewed by a clinician ten years
    after the last entry and neither is deleted by the daily sweep."""
    member = sandbox.add_member(chain="k24", journal=True)

    run = await flows.erase("k24", member.member_id)

    evidence = await run.result()
    holds = {hold.key: hold for hold in evidence.holds}
    record = sandbox.eziteq.members[member.member_id]
    patient = next(p for p in sandbox.physica.patients.values() if p.external_ref == member.member_id)
    assert "COMPLETED" == run.state_name
    assert ("restricted", "anonymised") == (statuses(evidence)["physica"], statuses(evidence)["eziteq"])
    assert add_years(JOURNAL_LAST_ENTRY, 10) == holds["physica-journal"].retain_until
    assert add_years(JOURNAL_LAST_ENTRY, 10) == holds["eziteq-journal"].retain_until
    assert holds["physica-journal"].review_only and holds["eziteq-journal"].review_only
    notes = len(record.journal_notes)
    assert notes and patient.restricted
    scheduled = await release_runs(run.flow_run.parameters["request_id"])

    for key in ("physica-journal", "eziteq-journal"):
        review = await flows.release(scheduled[key], holds[key].retain_until)
        assert "review" == await review.result()

    assert (notes, True) == (len(record.journal_notes), patient.patient_id in sandbox.physica.patients)


async def test_k24_deletes_lifevision_contacts(sandbox, flows):
    """LifeVision ("digital medlemsdialog via SMS og e-post"): the contact and its messages are deleted at
    once, before anything else, and only a hashed suppression entry stays so the member is not re-added."""
    member = sandbox.add_member(chain="k24")

    run = await flows.erase("k24", member.member_id)

    assert "COMPLETED" == run.state_name
    # LifeVision and Magy Media's Mailchimp are both marketing: they go together, before anything else.
    assert {"lifevision", "mailchimp"} == set(sandbox.destructive_calls_for(member.member_id)[:2])
    assert [] == [c for c in sandbox.lifevision.contacts.values() if c.external_id == member.member_id]
    assert sandbox.lifevision.suppressed(member.email, member.phone)
    assert "erased" == statuses(await run.result())["lifevision"]


async def test_k24_notifies_the_debt_collector_of_a_claim_in_debt_collection(sandbox, flows):
    """A claim Eziteq reports in debt collection does not wait (GDPR 17(3)(e)): the claim is held, restricted,
    with the debtor's identity while the rest of the record is anonymised, and a person confirms the Art. 19
    notice to the collector (the seed names none: an assumption), who and when in the evidence."""
    member = sandbox.add_member(chain="k24", in_collection=True)

    run, confirmed = await flows.confirm_all(await flows.erase("k24", member.member_id), by="Ola Drift")

    evidence = await run.result()
    steps = {step.system: step for step in evidence.steps}
    collector = steps["manual-inkassoselskapet"]
    assert ("COMPLETED", ["manual-inkassoselskapet"]) == (run.state_name, confirmed)
    assert ("notify", "confirmed", True, "Ola Drift") == (collector.action, collector.status, collector.verified,
                                                         collector.confirmed_by)
    record = sandbox.eziteq.members[member.member_id]
    [claim] = [i.claim for i in record.invoices if i.claim]
    assert ("anonymised", None, None) == (steps["eziteq"].status, record.first_name, record.mobile_phone)
    assert (member.name, True) == (claim["debtor_name"], claim["restricted"])


async def test_k24_keeps_the_membership_contract_restricted_for_three_and_a_half_years(sandbox, flows):
    """"inngåelse av avtale (kontrakt)": the contract in Eziteq stays, restricted, while the member is
    anonymised, until 30 June 2030 (bokføringsloven § 13: three and a half years after 2026, the year it ended);
    the daily sweep deletes it on that date."""
    member = sandbox.add_member(chain="k24")

    run = await flows.erase("k24", member.member_id)

    [contract] = [h for h in (await run.result()).holds if h.key == "eziteq-contract"]
    record = sandbox.eziteq.members[member.member_id]
    assert (date(2030, 6, 30), [True]) == (contract.retain_until, [c["restricted"] for c in record.contracts])
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["eziteq-contract"]

    kept = await flows.release(scheduled, contract.retain_until - timedelta(days=1))
    assert ("nothing due", 1) == (await kept.result(), len(record.contracts))
    gone = await flows.release(scheduled, contract.retain_until)

    assert ("released", []) == (await gone.result(), record.contracts)


async def test_k24_magy_media_newsletter_contact_is_deleted_in_the_first_step(sandbox, flows):
    """"Magy Media AS benytter seg av plattformen til MailChimp for å formidle vårt nyhetsbrev" (Magy Media AS,
    processor for K24 Prestasjon AS): while the last invoice is open the run waits, but the newsletter contact
    in every audience is already deleted for good, with the SMS dialogue; the evidence names the newsletter as
    erased and verified."""
    member = sandbox.add_member(chain="k24", open_invoice=True)

    waiting = await flows.erase("k24", member.member_id)

    # Eziteq's call is its marketing consents withdrawn, also in the first step; the record is not touched.
    assert ("SUSPENDED", {"lifevision", "mailchimp", "eziteq"}) == (
        waiting.state_name, set(sandbox.destructive_calls_for(member.member_id)))
    assert "anonymised" != sandbox.eziteq.members[member.member_id].state
    assert [] == [key for key, who in sandbox.mailchimp.member_ids.items()
                  if who == member.member_id and key in sandbox.mailchimp.members]
    sandbox.settle(member.member_id)
    run = await flows.resume(waiting, {"confirmed_by": "test"})

    evidence = await run.result()
    [newsletter] = [c for s in evidence.steps if s.system == "mailchimp" for c in s.categories]
    assert "COMPLETED" == run.state_name
    assert ("erased", True) == (statuses(evidence)["mailchimp"],
                                {s.system: s.verified for s in evidence.steps}["mailchimp"])
    assert ("newsletter", "delete", True) == (newsletter.category, newsletter.action, newsletter.verified)
async def test_k24_active_member_request_stops_marketing_and_keeps_the_membership_record_an_assumption(sandbox,
                                                                                                     flows):
    """"behandler disse ut fra ... inngåelse av avtale (kontrakt)": the seed says nothing of erasure while the
    membership runs; as assumed in its policy, the newsletter and LifeVision contacts and Eziteq's consents go at
    once and the Eziteq record stays until the contract's last day, which the evidence states."""
    until = datetime.now(OSLO).date() + timedelta(days=120)
    member = sandbox.add_member(chain="k24", member_until=until)

    run = await flows.erase("k24", member.member_id, kind="erasure")

    evidence = await run.result()
    record = sandbox.eziteq.members[member.member_id]
    assert ("COMPLETED", until, ["mailchimp", "lifevision", "eziteq"]) == (
        run.state_name, evidence.kept_while_member, sandbox.destructive_calls_for(member.member_id))
    assert [True] == ["consents" in c.target for c in sandbox.applied_calls(member.member_id) if c.system == "eziteq"]
    assert (member.first_name, 3, {"email": False, "sms": False}) == (record.first_name, len(record.checkins),
                                                                      record.marketing_consent)
    assert ["(assumption)" in note for note in evidence.notes] == [True]


async def test_k24_journal_review_comes_due_on_the_day_the_letter_states(sandbox, flows):
    """The member's letter states the day a clinician reviews the Physica journal and the Eziteq journal notes
    (ten years after the last entry, in both languages); the ledger makes each review due on that very day, and
    the daily sweep hands it to a clinician on it: not the day before, not the day after."""
    member = sandbox.add_member(chain="k24", journal=True)
    run = await flows.erase("k24", member.member_id)
    request_id = run.flow_run.parameters["request_id"]
    review = date(2035, 11, 20)  # ten years after the last entry (sandbox JOURNAL_LAST_ENTRY)
    ledger = await open_ledger(load_settings().ledger_url)

    letter = await shown("letter", request_id)
    due = {(s.hold.system, s.hold.rule) for s in await ledger.due_holds(review, request_id=request_id)}
    early = {(s.hold.system, s.hold.rule) for s in await ledger.due_holds(review - timedelta(days=1),
                                                                         request_id=request_id)}
    scheduled = await release_runs(request_id)
    swept = {}
    for key in ("physica-journal", "eziteq-journal"):
        before = await flows.release(scheduled[key], review - timedelta(days=1))
        on_the_day = await flows.release(scheduled[key], review)
        swept[key] = (await before.result(), await on_the_day.result())

    nb, en = words("nb"), words("en")
    assert "COMPLETED" == run.state_name
    assert 2 == letter.count(f"behandler vurderer journalen {nb.day(review)}")
    assert 2 == letter.count(f"a clinician reviews the journal on {en.day(review)}")
    assert {("physica", "journal"), ("eziteq", "journal")} <= due
    assert set() == {hold for hold in early if hold[1] == "journal"}
    assert {key: ("nothing due", "review") for key in swept} == swept
