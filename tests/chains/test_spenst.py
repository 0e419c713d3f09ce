"""Spenst's promises (seed 002), each proven by the chain's own erase-member and release-holds runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from config.dates import add_months
from domain.values import OSLO
from sandbox.exceline_records import add_record
from tests.chains.releases import letter_of, release_time, releases_of, runs_by_start
from tests.flow_driver import release_runs

PURCHASED = date(2026, 3, 14)
OLDER_PURCHASE = date(2025, 11, 2)


def today() -> date:
    return datetime.now(OSLO).date()


async def test_spenst_deletes_personal_data_incl_visit_history_within_3_months_after_settlement(sandbox, flows):
    """"innen tre (3) måneder etter at siste faktura og eventuelt annen utestående er gjort opp": while the
    last invoice is open only marketing goes; once it is paid the profile and visit history go at once,
    well inside the three months the evidence states as the latest day."""
    member = sandbox.add_member(chain="spenst", open_invoice=True)

    waiting = await flows.erase("spenst", member.member_id)

    assert "SUSPENDED" == waiting.state_name
    assert ["lifevision"] == sandbox.destructive_calls_for(member.member_id)
    assert 3 == len(sandbox.exceline.members[member.member_id].visits)

    sandbox.settle(member.member_id)
    run, _ = await flows.confirm_all(await flows.resume(waiting, {"confirmed_by": "test"}))

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    assert "COMPLETED" == run.state_name
    assert ([], None, None, True) == (record.visits, record.first_name, record.email, record.anonymised)
    assert member.member_id not in {c.external_id for c in sandbox.ibooking.customers.values()}
    assert add_months(today(), 3) == evidence.act_by
    assert evidence.finished.astimezone(OSLO).date() <= evidence.act_by
    assert "exceline" == sandbox.destructive_calls_for(member.member_id)[-1]


async def test_spenst_deletes_purchase_data_after_2_years(sandbox, flows):
    """"Kjøpsdata slettes etter 2 år": each purchase with the membership card stays, restricted, to two years
    after it was made and is deleted the day after, the older one at its own date while the newer one is kept
    until its own."""
    member = sandbox.add_member(chain="spenst")
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "purchases", OLDER_PURCHASE)
    add_record(record, "purchases", PURCHASED)
    request_id = f"spenst-purchases-{member.member_id}"

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id, request_id=request_id))

    older, newer = [hold for hold in (await run.result()).holds if hold.key == "exceline-purchases"]
    assert (date(2027, 11, 2), date(2028, 3, 14)) == (older.retain_until, newer.retain_until)
    assert [True, True] == [r["restricted"] for r in record.records["purchases"]]
    runs = await runs_by_start(request_id, "exceline-purchases")
    assert {release_time(older.retain_until), release_time(newer.retain_until)} == set(runs)
    first, second = runs[release_time(older.retain_until)], runs[release_time(newer.retain_until)]

    early = await flows.release(first, older.retain_until - timedelta(days=1))
    assert ("nothing due", 2) == (await early.result(), len(record.records["purchases"]))
    due = await flows.release(first, older.retain_until)
    assert ("released", [PURCHASED.isoformat()]) == (await due.result(),
                                                 [r["purchasedOn"] for r in record.records["purchases"]])
    kept = await flows.release(second, newer.retain_until - timedelta(days=1))
    assert ("nothing due", 1) == (await kept.result(), len(record.records["purchases"]))

    last = await flows.release(second, newer.retain_until)

    assert "released" == await last.result()
    assert "purchases" not in record.records
    assert 12 == len(record.invoices)  # bookkeeping keeps the invoices for years more
    erased = [r for r in await releases_of(request_id) if r["status"] == "erased"]
    assert [(str(older.retain_until), "yes"), (str(newer.retain_until), "yes")] == [
        (r["retain_until"], r["verified"]) for r in erased]


async def test_spenst_keeps_bookkeeping_5_years(sandbox, flows):
    """"for tiden 5 år" (bokføringsloven § 13: five years after the end of the entry's financial year): the
    invoice lines at the membership system and the transactions at Nets from 2025 are kept, restricted, until
    31 December 2030 and those from January 2026 until 31 December 2031; each is deleted on its date by the
    daily sweep and not a day before."""
    member = sandbox.add_member(chain="spenst")
    invoices = sandbox.exceline.members[member.member_id].invoices
    transactions = sandbox.nets.payers[f"NC-{member.number}"].transactions

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id))

    request_id = run.flow_run.parameters["request_id"]
    holds = [(h.key, h.retain_until, h.records_through) for h in (await run.result()).holds if h.rule == "bookkeeping"]
    assert [("nets-bookkeeping", date(2030, 12, 31), date(2025, 12, 15)),
            ("nets-bookkeeping", date(2031, 12, 31), date(2026, 1, 15)),
            ("exceline-bookkeeping", date(2030, 12, 31), date(2025, 12, 1)),
            ("exceline-bookkeeping", date(2031, 12, 31), date(2026, 1, 1))] == holds
    assert all(invoice.restricted for invoice in invoices)
    assert all(transaction["restricted"] for transaction in transactions)

    for key in ("exceline-bookkeeping", "nets-bookkeeping"):
        runs = await runs_by_start(request_id, key)
        first, second = runs[release_time(date(2030, 12, 31))], runs[release_time(date(2031, 12, 31))]
        kept = await flows.release(first, date(2030, 12, 30))
        assert ("nothing due", 12) == (await kept.result(), kept_entries(sandbox, member, key))
        older = await flows.release(first, date(2030, 12, 31))
        assert ("released", 1) == (await older.result(), kept_entries(sandbox, member, key))
        newer = await flows.release(second, date(2031, 12, 31))
        assert ("released", 0) == (await newer.result(), kept_entries(sandbox, member, key))


def kept_entries(sandbox, member, key: str) -> int:
    """How many invoice lines (Exceline) or transactions (Nets) the processor still keeps for the member."""
    if key == "exceline-bookkeeping":
        return len(sandbox.exceline.members[member.member_id].invoices)
    return len(sandbox.nets.payers[f"NC-{member.number}"].transactions)


async def test_spenst_keeps_the_signed_contract_5_years_restricted(sandbox, flows):
    """"vil vi kun oppbevare informasjon relatert til kontrakt og økonomi ... altså 5 år": the membership
    contract ("avtalegiroinformasjon og signering") is kept, restricted, while the member is anonymised, until
    31 December five years after the year it ended (bokføringsloven § 13, secondary documentation), and is
    deleted by the daily sweep on the hold's date."""
    member = sandbox.add_member(chain="spenst")
    record = sandbox.exceline.members[member.member_id]

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id))

    [contract] = [h for h in (await run.result()).holds if h.key == "exceline-contract"]
    assert (date(2031, 12, 31), "bokforingsloven-13-secondary") == (contract.retain_until, contract.basis)
    assert ([True], True) == ([c["restricted"] for c in record.records["contracts"]], record.anonymised)
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["exceline-contract"]

    kept = await flows.release(scheduled, contract.retain_until - timedelta(days=1))
    assert ("nothing due", 1) == (await kept.result(), len(record.records["contracts"]))
    gone = await flows.release(scheduled, contract.retain_until)

    assert ("released", False) == (await gone.result(), "contracts" in record.records)


def categories_of(evidence, system: str) -> dict[str, tuple[str, str, bool | None]]:
    """A step's categories in the evidence: action, status and read-back."""
    step = next(s for s in evidence.steps if s.system == system)
    return {c.category: (c.action, c.status, c.verified) for c in step.categories}


async def test_spenst_guardian_data_is_erased_with_the_minors_record(sandbox, flows):
    """"For personer som ikke er myndige (personer under 18 år), må vi i tillegg registrere noen opplysninger om
    foresatte/verge. Disse opplysningene brukes kun ved registrering": the guardian's name, phone and e-mail go
    with the minor's record, in the same erasure, while the contract is kept; the evidence says so, read back."""
    member = sandbox.add_member(chain="spenst")
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "guardians", date(2025, 2, 1))

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id))

    evidence = await run.result()
    assert ("COMPLETED", True) == (run.state_name, record.anonymised)
    assert [] == record.records.get("guardians", [])
    assert [True] == [c["restricted"] for c in record.records["contracts"]]
    assert ("delete", "erased", True) == categories_of(evidence, "exceline")["guardians"]


async def test_spenst_app_push_tokens_and_logs_are_erased(sandbox, flows):
    """"vil appen lagre følgende informasjon som er nødvendig for å sende deg push-varsler: Ditt mobilnummer,
    hvilke senter du tilhører og innloggingstidspunkt" and "Det logges også data for å kunne oppdage tekniske
    feilsituasjoner i appen": once the last invoice is paid, the app's user with its push tokens, its traffic
    with the booking system and its error logs is deleted, before the membership system; not while it waits."""
    member = sandbox.add_member(chain="spenst", open_invoice=True)

    waiting = await flows.erase("spenst", member.member_id)
    assert ("SUSPENDED", True) == (waiting.state_name, sandbox.app.of(member.member_id) is not None)

    sandbox.settle(member.member_id)
    run, _ = await flows.confirm_all(await flows.resume(waiting, {"confirmed_by": "test"}))

    evidence = await run.result()
    calls = sandbox.destructive_calls_for(member.member_id)
    assert ("COMPLETED", None) == (run.state_name, sandbox.app.of(member.member_id))
    assert calls.index("app") < calls.index("exceline")
    # The user's deletion takes its push tokens, traffic and logs: they are found absent when their turn comes.
    assert {"user": ("delete", "erased", True), "push_tokens": ("delete", "already_absent", True),
            "app_traffic": ("delete", "already_absent", True), "app_logs": ("delete", "already_absent", True)} == \
        categories_of(evidence, "app")


async def test_spenst_access_cards_and_door_log_are_erased_with_the_visit_history(sandbox, flows):
    """"benytter enkelte underleverandører for å drifte vårt medlemssystem, adgangs- og betalingsløsninger" and
    "Ved utmelding sletter vi dine personopplysninger, inkludert besøkshistorikk": the access system's card or
    code and its door log go with the visit history in the membership system, read back."""
    member = sandbox.add_member(chain="spenst")

    run, _ = await flows.confirm_all(await flows.erase("spenst", member.member_id))

    evidence = await run.result()
    assert ("COMPLETED", None, []) == (run.state_name, sandbox.access.of(member.member_id),
                                       sandbox.exceline.members[member.member_id].visits)
    # The card holder's deletion takes its cards or codes and door log: found absent when their turn comes.
    assert {"cardholder": ("delete", "erased", True), "credentials": ("delete", "already_absent", True),
            "entries": ("delete", "already_absent", True)} == categories_of(evidence, "access")
async def test_spenst_active_member_request_is_answered_and_nothing_is_deleted(sandbox, flows):
    """"Så lenge ditt medlemskap består vil registrerte opplysninger ikke bli slettet ... Du kan selvfølgelig trekke
    samtykket til markedsføring": an erasure request while the membership runs stops marketing at once (the SMS
    contact deleted, the consents withdrawn), touches nothing else, and the letter says why and until when."""
    until = today() + timedelta(days=200)
    member = sandbox.add_member(chain="spenst", member_until=until)

    run = await flows.erase("spenst", member.member_id, kind="erasure")

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    assert ("COMPLETED", "done", until, ()) == (run.state_name, evidence.status, evidence.kept_while_member,
                                                evidence.holds)
    assert ["lifevision"] == sandbox.destructive_calls_for(member.member_id)
    assert (False, member.first_name, 3, [False, False]) == (record.anonymised, record.first_name, len(record.visits),
                                                              [c["granted"] for c in record.consents])
    assert {"lifevision", "exceline-marketing"} == {s.system for s in evidence.steps}
    assert {f"nothing erased there: the membership runs until {until}"} == {
        t.detail for t in evidence.told if t.recipient in ("ibooking", "nets")}
    letter = await letter_of(run.flow_run.parameters["request_id"])
    assert [True, True, True] == [words in letter for words in (
        f"Medlemskapet ditt løper til og med {until:%d.%m.%Y}", "Så lenge ditt medlemskap består",
        "Your membership runs until")]


async def test_spenst_partners_are_told_of_the_erasure_by_a_person(sandbox, flows):
    """"Tilsvarende informasjon kan bli registrert når ditt medlemskort brukes hos samarbeidspartnere" and "vi
    pålegger dem å slette informasjon vi har delt om deg etter samme regler som gjelder for oss" (Art. 19): the
    run waits for a person to tell the partners, before the membership system goes, and the evidence names them
    as told by that person on the day they gave."""
    yesterday = today() - timedelta(days=1)
    member = sandbox.add_member(chain="spenst")

    waiting = await flows.erase("spenst", member.member_id)
    anonymised_while_waiting = sandbox.exceline.members[member.member_id].anonymised
    run, confirmed = await flows.confirm_all(waiting, by="Kari Drift", on=yesterday)

    evidence = await run.result()
    told = {t.recipient: (t.how, t.on, t.by) for t in evidence.told}
    assert ("SUSPENDED", False) == (waiting.state_name, anonymised_while_waiting)
    assert ("COMPLETED", ["manual-samarbeidspartnere-medlemsrabatter"]) == (run.state_name, confirmed)
    assert ("person", yesterday, "Kari Drift") == told["Samarbeidspartnere (medlemsrabatter)"]
