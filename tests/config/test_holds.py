"""Holds: which records a processor keeps after erasure, and the day they may go."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from config.holds import Clocks, holds_for, latest_erasure_day, live_holds, moved_hold, planned_action
from config.policy import load_policy
from tests.config.test_policy import CONTROLLERS, KNOWN

POLICY = load_policy("demo", CONTROLLERS, KNOWN)


def test_invoices_are_held_to_31_december_five_years_on():
    """An invoice from 14 March 2025 is kept until 31 December 2030 (bokføringsloven § 13)."""
    [hold] = holds_for(POLICY, "nets", Clocks(bookkeeping_entries=(date(2025, 3, 14),)))

    assert date(2030, 12, 31) == hold.retain_until
    assert "bokføringsloven" in hold.citation
    assert not hold.review_only


def test_journal_is_reviewed_ten_years_after_the_last_entry():
    """A journal's last entry on 20 Nov 2025 makes a review due on 20 Nov 2035, never a deletion."""
    [hold] = holds_for(POLICY, "physica", Clocks(last_journal_entry=date(2025, 11, 20)))

    assert date(2035, 11, 20) == hold.retain_until
    assert hold.review_only


def test_nothing_to_hold_means_no_hold():
    """A processor with no invoices or journal gets no hold."""
    assert [] == holds_for(POLICY, "nets", Clocks())
    assert [] == holds_for(POLICY, "ibooking", Clocks(bookkeeping_entries=(date(2025, 1, 1),)))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_bookkeeping_hold_is_never_shorter_than_five_years(entry):
    """Whatever the entry's date, its hold ends on a 31 December at least five years later."""
    [hold] = holds_for(POLICY, "nets", Clocks(bookkeeping_entries=(entry,)))

    assert (12, 31) == (hold.retain_until.month, hold.retain_until.day)
    assert hold.retain_until.year - entry.year == 5


CHAINS = {name: load_policy(name, CONTROLLERS, KNOWN | {"eziteq", "fixit", "lifevision", "stripe", "credicare",
                                                         "manual", "crm", "imagebank", "access", "app"})
          for name in ("aktiv365", "k24", "spenst", "mova", "vekstly")}
TODAY = date(2026, 11, 23)


def test_spenst_holds_purchases_two_years_from_the_last_purchase():
    """Spenst's membership system keeps card purchases until two years after the newest one."""
    holds = {h.rule: h for h in holds_for(CHAINS["spenst"], "exceline",
                                           Clocks(bookkeeping_entries=(date(2026, 1, 1),),
                                                  purchases=(date(2026, 3, 14),)))}

    assert date(2028, 3, 14) == holds["purchases"].retain_until
    assert date(2031, 12, 31) == holds["bookkeeping"].retain_until


def test_mova_holds_footage_six_days_and_exclusions_to_their_last_day():
    """MOVA keeps the door camera's snapshot through day six and an exclusion record through its last day."""
    holds = {h.rule: h for h in holds_for(CHAINS["mova"], "exceline",
                                           Clocks(recordings=(date(2026, 11, 20),),
                                                  exclusion_ends=(date(2027, 2, 28),)))}

    assert date(2026, 11, 26) == holds["camera"].retain_until
    assert date(2027, 2, 28) == holds["exclusion"].retain_until
    assert {"camera", "exclusion"} == set(holds)


def test_a_claim_in_collection_holds_the_claim_category_not_the_whole_record():
    """Aktiv365: a claim's hold keeps the claim and the debtor's identity until its limitation (or payment); the
    rest of the record is erased at once, so the processor's own action applies from the start."""
    policy = CHAINS["aktiv365"]
    [claim] = [h for h in holds_for(policy, "exceline", Clocks(claim_due=date(2025, 11, 15))) if h.rule == "claim"]

    assert (date(2028, 11, 15), False, True) == (claim.retain_until, claim.holds_record,
                                                                 claim.until_settled)
    assert ("claim", True) == (claim.category, {"debtor_name", "debtor_address"} <= set(claim.fields))
    assert "anonymise" == planned_action(policy, "exceline", [claim], TODAY)
    assert [claim] == live_holds([claim], "anonymise")


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
       st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)))
def test_stripe_is_restricted_exactly_while_the_withdrawal_period_runs(paid, as_of):
    """Vekstly's Stripe customer is restricted through the 14 days after payment, deleted from then on."""
    policy = CHAINS["vekstly"]
    holds = holds_for(policy, "stripe", Clocks(last_payment=paid))

    expected = "restrict" if as_of <= paid + timedelta(days=14) else "delete"
    assert expected == planned_action(policy, "stripe", holds, as_of)


def test_a_hold_still_owed_at_its_date_moves_to_its_recheck_day():
    """A claim still in collection at its limitation date was interrupted: it is looked at again in three
    years; a settled one keeps its date."""
    policy = CHAINS["mova"]
    [claim] = [h for h in holds_for(policy, "exceline", Clocks(claim_due=date(2023, 1, 15))) if h.rule == "claim"]

    assert date(2029, 11, 23) == moved_hold(claim, policy, still_owed=True, as_of=TODAY).retain_until
    assert claim == moved_hold(claim, policy, still_owed=False, as_of=TODAY)


def test_the_buffer_counts_from_settlement_for_spenst_and_from_the_end_for_mova():
    """Spenst: three months after settlement; MOVA: six months after the relationship ended; Aktiv365 has none."""
    settled, ended = date(2026, 11, 23), date(2026, 10, 31)

    assert date(2027, 2, 23) == latest_erasure_day(CHAINS["spenst"], settled, ended)
    assert date(2027, 4, 30) == latest_erasure_day(CHAINS["mova"], settled, ended)
    assert latest_erasure_day(CHAINS["aktiv365"], settled, ended) is None


def test_each_financial_years_entries_are_held_to_their_own_year_end_plus_five():
    """Invoices from 2025 and 2026 are two holds: the 2025 ones until 31 December 2030, the 2026 ones until
    31 December 2031, each covering its year's entries (bokføringsloven § 13 counts from each entry's year)."""
    entries = (date(2025, 2, 1), date(2025, 12, 1), date(2026, 1, 1))

    holds = holds_for(POLICY, "exceline", Clocks(bookkeeping_entries=entries))

    expected = [("bookkeeping", date(2030, 12, 31), date(2025, 12, 1)),
                ("bookkeeping", date(2031, 12, 31), date(2026, 1, 1))]
    assert expected == [(h.rule, h.retain_until, h.records_through) for h in holds if h.rule == "bookkeeping"]


def test_older_footage_and_purchases_go_at_their_own_dates():
    """MOVA's older snapshot goes six days after it was taken, not with the newest; Spenst's older purchase two
    years after it was made."""
    footage = holds_for(CHAINS["mova"], "exceline", Clocks(recordings=(date(2026, 11, 2), date(2026, 11, 20))))
    purchases = holds_for(CHAINS["spenst"], "exceline", Clocks(purchases=(date(2026, 1, 10), date(2026, 3, 14))))

    assert [(date(2026, 11, 8), date(2026, 11, 2)), (date(2026, 11, 26), date(2026, 11, 20))] == [
        (h.retain_until, h.records_through) for h in footage]
    assert [(date(2028, 1, 10), date(2026, 1, 10)), (date(2028, 3, 14), date(2026, 3, 14))] == [
        (h.retain_until, h.records_through) for h in purchases]


def test_a_journal_is_one_hold_from_its_last_entry():
    """A journal is held whole: one hold, counted from the last entry, covering every entry."""
    [hold] = holds_for(POLICY, "physica", Clocks(last_journal_entry=date(2025, 11, 20)))

    assert (date(2035, 11, 20), None) == (hold.retain_until, hold.records_through)


def test_spenst_keeps_the_contract_five_years_after_the_year_it_ended():
    """"informasjon relatert til kontrakt og økonomi ... altså 5 år": a contract that ended 31 January 2026 is
    kept until 31 December 2031, under bokføringsloven § 13's secondary documentation."""
    [contract] = [h for h in holds_for(CHAINS["spenst"], "exceline", Clocks(contract_ends=(date(2026, 1, 31),)))
                  if h.rule == "contract"]

    assert (date(2031, 12, 31), "bokforingsloven-13-secondary", ("contracts",)) == (
        contract.retain_until, contract.basis, contract.categories)


def test_k24_journal_review_day_is_one_value_for_the_letter_and_the_sweep():
    """K24's journals (Physica, Eziteq notes): the review day is ten years after the last entry, and it is
    at once the hold's date, the day the ledger makes it due (the sweep's) and the day the letter states."""
    from evidence.ledger import HELD, hold_row

    k24 = load_policy("k24", CONTROLLERS)
    last_entry = date(2024, 2, 29)

    holds = [hold for system in ("physica", "eziteq") for hold in holds_for(k24, system, Clocks(
        last_journal_entry=last_entry)) if hold.review_only]

    review = k24.rule("journal").period.after(last_entry)
    assert date(2034, 2, 28) == review  # ten years on; the 29th is not in 2034
    assert 2 == len(holds)
    assert [(review, review, review)] * 2 == [
        (hold.retain_until, hold.review_day, hold_row(hold, "r", "k24", "M1", HELD, None)["due_on"]) for hold in holds]
