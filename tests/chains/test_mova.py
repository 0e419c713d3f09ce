"""MOVA's promises (seed 003), each proven by the chain's own erase-member and release-holds runs."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from config.dates import add_months, add_years
from domain.values import OSLO
from evidence.letter import words
from sandbox.exceline_records import add_record
from tests.chains.releases import letter_of, release_time, releases_of, runs_by_start
from tests.flow_driver import release_runs
from tests.flows.test_letters import letters, shown


def today() -> date:
    return datetime.now(OSLO).date()


def statuses(evidence) -> dict[str, str]:
    return {step.system: step.status for step in evidence.steps}


async def test_mova_deletes_member_data_within_6_months_after_the_relationship_ends(sandbox, flows):
    """"Opplysningene slettes innen 6 måneder etter at du har avsluttet ditt kundeforhold": the member
    is anonymised in the membership system and deleted from bookings at once, and the evidence states
    the latest day the promise allows, six months after the termination."""
    member = sandbox.add_member(chain="mova")

    run = await flows.erase("mova", member.member_id)

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    assert "COMPLETED" == run.state_name
    assert ("anonymised", "erased") == (statuses(evidence)["exceline"], statuses(evidence)["ibooking"])
    assert ([], None, False) == (record.visits, record.first_name, record.has_photo)
    assert add_months(evidence.request.received.astimezone(OSLO).date(), 6) == evidence.act_by
    assert evidence.finished.astimezone(OSLO).date() <= evidence.act_by


async def test_mova_keeps_journals_under_the_journal_rules(sandbox, flows, artifacts):
    """"i tråd med journalforskriften ... §14": the journal is restricted, never deleted; ten years after
    the last entry the daily sweep hands it to a clinician and the journal is still there."""
    member = sandbox.add_member(chain="mova", journal=True)

    run = await flows.erase("mova", member.member_id, request_id=f"mova-journal-{member.member_id}")

    evidence = await run.result()
    journal = next(h for h in evidence.holds if h.key == "physica-journal")
    patient = next(p for p in sandbox.physica.patients.values() if p.external_ref == member.member_id)
    assert ("restricted", True) == (statuses(evidence)["physica"], patient.restricted)
    assert (add_years(date.fromisoformat(patient.last_entry), 10), True) == (journal.retain_until,
                                                                                   journal.review_only)
    scheduled = (await release_runs(f"mova-journal-{member.member_id}"))["physica-journal"]

    review = await flows.release(scheduled, journal.retain_until)

    assert "review" == await review.result()
    assert patient.patient_id in sandbox.physica.patients
    assert "physica" not in {c.system for c in sandbox.applied_calls(member.member_id) if c.action != "restrict"}
    [row] = await releases_of(f"mova-journal-{member.member_id}")
    assert ("manual", "review") == (row["status"], row["action"])


async def test_mova_deletes_camera_footage_within_a_week_of_recording(sandbox, flows):
    """"slettes innen én uke etter at opptaket er gjort": the door camera's snapshot stays, restricted, through
    day five after the recording and is gone on day six, the hold's date, never later."""
    member = sandbox.add_member(chain="mova")
    recorded = today() - timedelta(days=2)
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "camera", recorded)

    run = await flows.erase("mova", member.member_id)

    camera = next(h for h in (await run.result()).holds if h.key == "exceline-camera")
    assert recorded + timedelta(days=6) == camera.retain_until
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["exceline-camera"]

    kept = await flows.release(scheduled, recorded + timedelta(days=5))
    assert ("nothing due", [True]) == (await kept.result(), [r["restricted"] for r in record.records["camera"]])

    gone = await flows.release(scheduled, recorded + timedelta(days=6))

    assert "released" == await gone.result()
    assert "camera" not in record.records


async def test_mova_deletes_older_footage_at_its_own_date_while_newer_footage_waits(sandbox, flows):
    """"innen én uke etter at opptaket er gjort" counts from each recording: a snapshot from five days ago is
    gone on its day six, the hold's date, while yesterday's is kept, restricted, to its own day six."""
    member = sandbox.add_member(chain="mova")
    older, newer = today() - timedelta(days=5), today() - timedelta(days=1)
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "camera", older)
    add_record(record, "camera", newer)

    run = await flows.erase("mova", member.member_id)

    holds = [h for h in (await run.result()).holds if h.key == "exceline-camera"]
    assert [(older + timedelta(days=6), older), (newer + timedelta(days=6), newer)] == [
        (h.retain_until, h.records_through) for h in holds]
    runs = await runs_by_start(run.flow_run.parameters["request_id"], "exceline-camera")
    first, second = (runs[release_time(h.retain_until)] for h in holds)

    gone = await flows.release(first, older + timedelta(days=6))

    assert ("released", [newer.isoformat()]) == (await gone.result(),
                                                 [r["recordedOn"] for r in record.records["camera"]])
    kept = await flows.release(second, newer + timedelta(days=5))
    assert ("nothing due", 1) == (await kept.result(), len(record.records["camera"]))
    last = await flows.release(second, newer + timedelta(days=6))
    assert ("released", False) == (await last.result(), "camera" in record.records)


async def test_mova_notifies_the_debt_collector_of_a_claim_in_collection(sandbox, flows):
    """"partnere som håndterer betalingstjenester og inkasso": a claim in collection does not wait (GDPR
    17(3)(e)); the claim is held, restricted, while the rest of the record is anonymised, and a person confirms
    the Art. 19 notice to the collector (the seed names none: an assumption) before the member's record is
    touched."""
    member = sandbox.add_member(chain="mova", in_collection=True)

    run, confirmed = await flows.confirm_all(await flows.erase("mova", member.member_id))

    evidence = await run.result()
    steps = {step.system: step for step in evidence.steps}
    collector = steps["manual-inkassoselskapet"]
    assert ("COMPLETED", ["manual-inkassoselskapet"]) == (run.state_name, confirmed)
    assert ("notify", "confirmed", "Inkassoselskapet", "Kari Drift") == (
        collector.action, collector.status, collector.supplier, collector.confirmed_by)
    record = sandbox.exceline.members[member.member_id]
    assert ("anonymised", True) == (steps["exceline"].status, record.anonymised)
    assert [True] == [i.claim["restricted"] for i in record.invoices if i.claim]


async def test_mova_keeps_behaviour_violation_records_until_the_exclusion_ends(sandbox, flows):
    """"slettes etter at en eventuell utestengelsesperiode er over": the exclusion record is kept, restricted,
    until its last day, the hold's date, and deleted on it by the daily sweep, whatever else was erased."""
    member = sandbox.add_member(chain="mova")
    ends = today() + timedelta(days=40)
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "exclusions", ends)

    run = await flows.erase("mova", member.member_id)

    exclusion = next(h for h in (await run.result()).holds if h.key == "exceline-exclusion")
    assert (ends, True) == (exclusion.retain_until, record.anonymised)
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["exceline-exclusion"]

    kept = await flows.release(scheduled, ends - timedelta(days=1))
    assert ("nothing due", 1) == (await kept.result(), len(record.records["exclusions"]))

    gone = await flows.release(scheduled, ends)

    assert "released" == await gone.result()
    assert "exclusions" not in record.records


def categories_of(evidence, system: str) -> dict[str, tuple[str, bool | None]]:
    """A step's categories in the evidence: action and read-back."""
    step = next(s for s in evidence.steps if s.system == system)
    return {c.category: (c.action, c.verified) for c in step.categories}


async def test_mova_image_bank_and_purchase_history_are_erased(sandbox, flows):
    """"kundens bilde lagres i vår bildebank og benyttes i forbindelse med markedsføring" and "kjøpshistorikk og
    adferdsmønster ... til å gi anbefalinger og tilbud" (both on consent, GDPR Art. 6(1)(a)): the CRM's contact,
    channels, purchase history and web behaviour and the image bank's photos are deleted in the first step,
    before the run waits for the last invoice, and the evidence lists each category erased and read back."""
    member = sandbox.add_member(chain="mova", open_invoice=True)
    assert sandbox.crm.of(member.member_id) and sandbox.imagebank.of(member.member_id)

    waiting = await flows.erase("mova", member.member_id)

    assert ("SUSPENDED", {"crm", "imagebank"}) == (waiting.state_name,
                                                   set(sandbox.destructive_calls_for(member.member_id)))
    assert (None, None) == (sandbox.crm.of(member.member_id), sandbox.imagebank.of(member.member_id))
    sandbox.settle(member.member_id)
    run = await flows.resume(waiting, {"confirmed_by": "test"})

    evidence = await run.result()
    assert "COMPLETED" == run.state_name
    assert ("erased", "erased") == (statuses(evidence)["crm"], statuses(evidence)["imagebank"])
    assert {"contact": ("delete", True), "consents": ("delete", True), "purchases": ("delete", True),
            "web_behaviour": ("delete", True)} == categories_of(evidence, "crm")
    assert {"person": ("delete", True), "images": ("delete", True)} == categories_of(evidence, "imagebank")
async def legal_holds_of(controller: str, member_id: str):
    """The chain's legal holds on a member, as the ledger has them now."""
    from config.settings import load_settings
    from evidence.ledger import open_ledger
    from evidence.legal_holds import read_legal_holds

    return await read_legal_holds(await open_ledger(load_settings().ledger_url), controller, member_id)


async def test_mova_footage_under_police_hold_is_kept_past_one_week_and_purged_after_the_hold_ends(sandbox, flows):
    """"med mindre det er sannsynlig at opptakene vil måtte brukes ... eller utleveres til politiet": a legal hold
    set from the Prefect form keeps the snapshot, restricted, past its day six; the daily sweep deletes it on the day
    the legal hold ends, and the evidence names who set it, why and until when."""
    member = sandbox.add_member(chain="mova")
    recorded = today() - timedelta(days=2)
    ends = today() + timedelta(days=30)
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "camera", recorded)
    run = await flows.erase("mova", member.member_id)
    request_id = run.flow_run.parameters["request_id"]

    form = await flows.start("legal-hold", {
        "controller": "mova", "member_id": member.member_id, "system": "exceline", "category": "camera",
        "reason": "Politiet ba om opptaket, sak 26-1234", "set_by": "Kari Drift", "until": ends.isoformat()})

    assert "COMPLETED" == form.state_name
    scheduled = (await release_runs(request_id))["exceline-camera"]
    kept = await flows.release(scheduled, recorded + timedelta(days=6))
    assert ("held_again", [True]) == (await kept.result(), [r["restricted"] for r in record.records["camera"]])
    still = await flows.release(scheduled, ends - timedelta(days=1))
    assert ("nothing due", 1) == (await still.result(), len(record.records["camera"]))
    gone = await flows.release(scheduled, ends)
    assert ("released", False) == (await gone.result(), "camera" in record.records)
    held_again = (await releases_of(request_id))[0]
    assert ("pending", ends.isoformat()) == (held_again["status"], held_again["kept_until"])
    named = ("set by Kari Drift", "Politiet ba om opptaket, sak 26-1234", f"until {ends}")
    assert list(named) == [words for words in named if words in held_again["detail"]]
    # The case is closed early: lifted from the same form (the session's ledger outlives this sandbox's member ids).
    lifted = await flows.start("legal-hold", {**form.flow_run.parameters, "lift": True})
    [legal] = await legal_holds_of("mova", member.member_id)
    assert ("COMPLETED", "Kari Drift", ends, today()) == (lifted.state_name, legal.set_by, legal.ends_on,
                                                          legal.lifted_on)


async def test_mova_footage_held_until_lifted_goes_on_the_later_of_its_own_date_and_the_lift(sandbox, flows):
    """A legal hold with no end (`slett hold`) keeps the snapshot however long the case runs; once `slett hold
    --lift` lifts it, the normal rule applies on the later of the dates: the snapshot's own day six."""
    from cli.main import main

    member = sandbox.add_member(chain="mova")
    recorded = today() - timedelta(days=2)
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "camera", recorded)
    run = await flows.erase("mova", member.member_id)
    request_id = run.flow_run.parameters["request_id"]
    where = ["mova", member.member_id, "--system", "exceline", "--category", "camera"]

    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--reason", "Tvist om utestengelse",
                                               "--by", "Ola Jurist"])

    scheduled = (await release_runs(request_id))["exceline-camera"]
    assert "held_again" == await (await flows.release(scheduled, recorded + timedelta(days=6))).result()
    assert "nothing due" == await (await flows.release(scheduled, recorded + timedelta(days=400))).result()
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--lift", "--by", "Ola Jurist"])
    assert "nothing due" == await (await flows.release(scheduled, recorded + timedelta(days=5))).result()
    gone = await flows.release(scheduled, recorded + timedelta(days=6))
    assert ("released", False) == (await gone.result(), "camera" in record.records)
    [legal] = await legal_holds_of("mova", member.member_id)
    assert ("Ola Jurist", "Tvist om utestengelse", None, today()) == (legal.lifted_by, legal.reason, legal.ends_on,
                                                                       legal.lifted_on)


async def test_mova_category_under_dispute_is_restricted_not_erased_and_erased_once_the_legal_hold_is_lifted(
        sandbox, flows):
    """"for å imøtekomme et rettskrav": visits under dispute when the member leaves are restricted as they are
    while the rest is anonymised; the evidence names the legal hold; lifted, the daily sweep deletes them as the
    data map says."""
    from cli.main import main

    member = sandbox.add_member(chain="mova")
    record = sandbox.exceline.members[member.member_id]
    where = ["mova", member.member_id, "--system", "exceline", "--category", "visits"]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--reason", "Tvist om trenings-skade, sak 9",
                                               "--by", "Ola Jurist"])

    run = await flows.erase("mova", member.member_id)

    evidence = await run.result()
    request_id = run.flow_run.parameters["request_id"]
    exceline = next(s for s in evidence.steps if s.system == "exceline")
    visits = next(c for c in exceline.categories if c.category == "visits")
    assert ("COMPLETED", True, [True, True, True]) == (run.state_name, record.anonymised,
                                                       [v["restricted"] for v in record.visits])
    assert ("restrict", "restricted", "legal-hold", True) == (visits.action, visits.status, visits.rule,
                                                              visits.verified)
    assert ["Tvist om trenings-skade, sak 9" in note for note in evidence.notes] == [True]
    scheduled = (await release_runs(request_id))["exceline-legal-hold"]
    assert "nothing due" == await (await flows.release(scheduled, today() + timedelta(days=3650))).result()
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--lift", "--by", "Ola Jurist"])
    gone = await flows.release(scheduled, today())
    assert ("released", []) == (await gone.result(), record.visits)


async def test_mova_active_member_request_is_answered_and_only_marketing_stops(sandbox, flows):
    """"lagres i vårt medlemssystem så lenge du har et aktivt kundeforhold hos MOVA": an erasure request while the
    membership runs withdraws the marketing consents ("vil vi slutte å behandle dine personopplysninger til slike
    formål") and erases nothing else; the evidence and the letter say why and until when, and the acknowledgment
    sent first says the membership's end is what the rest waits for, never that the rest is erased now."""
    until = today() + timedelta(days=90)
    member = sandbox.add_member(chain="mova", member_until=until)

    run = await flows.erase("mova", member.member_id, kind="erasure")

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    # The CRM and the image bank hold marketing only (consent): they go, as marketing stops.
    assert ("COMPLETED", until, ["crm", "imagebank"]) == (run.state_name, evidence.kept_while_member,
                                                          sorted(sandbox.destructive_calls_for(member.member_id)))
    assert (False, 3, [False, False]) == (record.anonymised, len(record.visits),
                                          [c["granted"] for c in record.consents])
    assert ["aktivt kundeforhold hos MOVA" in note for note in evidence.notes] == [True]
    assert "Medlemskapet ditt løper til og med" in await letter_of(run.flow_run.parameters["request_id"])
    [acknowledgment] = await letters(run.flow_run.parameters["request_id"])
    text = await shown("acknowledgment", run.flow_run.parameters["request_id"])
    assert (["membership"], until.isoformat()) == (acknowledgment["waits_for"], acknowledgment["membership_until"])
    assert f"Medlemskapet ditt løper til og med {words('nb').day(until)}." in text
    assert f"Your membership runs until {words('en').day(until)}." in text
    assert ("vi sletter resten nå" in text, "we erase the rest now" in text) == (False, False)


async def test_evidence_lists_every_recipient_told_of_the_erasure(sandbox, flows, artifacts):
    """GDPR Art. 19 ("partnere som håndterer betalingstjenester og inkasso", "vår leverandør av IT-systemer"): every
    recipient MOVA's policy names is in the sealed evidence and on the run: the processors with an API told by the
    erasure call itself, the debt collector by a person's notice (who, and the day), the journal system that held
    nothing said so."""
    from config.settings import load_settings
    from evidence.ledger import open_ledger

    member = sandbox.add_member(chain="mova", in_collection=True)
    run, _ = await flows.confirm_all(await flows.erase("mova", member.member_id), by="Kari Drift",
                                     on=today() - timedelta(days=1))

    evidence = await run.result()
    told = {t.recipient: (t.how, t.on, t.by) for t in evidence.told}
    finished = evidence.finished.astimezone(OSLO).date()
    assert {"crm": ("api", finished, None), "imagebank": ("api", finished, None),
            "ibooking": ("api", finished, None), "nets": ("api", finished, None),
            "physica": ("api", finished, None), "Inkassoselskapet": ("person", today() - timedelta(days=1),
                                                                     "Kari Drift"),
            "exceline": ("api", finished, None)} == told
    assert "held nothing of the member" in next(t.detail for t in evidence.told if t.recipient == "physica")
    request_id = run.flow_run.parameters["request_id"]
    [sealed] = [r for r in await (await open_ledger(load_settings().ledger_url)).records(request_id=request_id)
                if r.kind == "erasure"]
    assert sorted(told) == sorted(t["recipient"] for t in sealed.sealed.body["evidence"]["told"])
    assert sorted(told) == sorted(row["recipient"] for row in await artifacts(f"told-{request_id}"))
