"""The chains' own clocks as pure date functions: each law or promise as a property, the edges as examples."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from config.dates import (
    MonthDay,
    Period,
    add_months,
    add_years,
    financial_year_end,
    gdpr_deadline,
    latest_action_day,
    stale_before,
)
from config.holds import Clocks, Hold, holds_for
from config.policy import Policy, load_policy
from connectors.contract import distinct_days
from connectors.registry import known_systems
from domain.values import OSLO
from tasks.holds import release_time
from tests.config.test_policy import CONTROLLERS

days = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))
periods = st.builds(Period, years=st.integers(0, 10), months=st.integers(0, 24), days=st.integers(0, 60))
year_ends = st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 12, 31)).map(lambda d: MonthDay(d.month, d.day))
CHAINS = {name: load_policy(name, CONTROLLERS, known_systems())
          for name in ("demo", "aktiv365", "k24", "spenst", "mova", "vekstly")}


@given(days, periods, days)
def test_a_rolling_purge_takes_exactly_those_whose_period_has_run_out(as_of, kept, last_visit):
    """Whoever was last active before the cut-off has been kept the whole period; no one else is taken."""
    assert (last_visit < stale_before(as_of, kept)) == (kept.after(last_visit) < as_of)


@given(days)
def test_guests_six_months_after_their_last_visit_are_stale_the_next_day(last_visit):
    """Aktiv365: a guest is kept through the day six months after the last visit, and purged the day after."""
    six_months = Period(months=6)
    last_kept = add_months(last_visit, 6)

    assert last_visit >= stale_before(last_kept, six_months)
    assert last_visit < stale_before(last_kept + timedelta(days=1), six_months)


# The law per chain: holds_for, the one path every hold's date takes, against what the law or seed says.


def holders(basis: str) -> list[tuple[Policy, str]]:
    """(chain, processor step) for every processor that holds records under a rule with this basis."""
    return [(policy, processor.key) for policy in CHAINS.values() for processor in policy.processors
            if any(policy.rule(name).basis == basis for name in processor.holds)]


def covering(holds: list[Hold], day: date) -> Hold:
    """The hold whose release deletes a record of this date: the first whose records reach it."""
    return next(h for h in holds if h.records_through is not None and day <= h.records_through)


def released_on(hold: Hold) -> date:
    """The day the hold's release run starts (00:00 Oslo)."""
    return release_time(hold.retain_until).date()


@given(st.lists(days, min_size=1, max_size=6), st.sampled_from(holders("bokforingsloven-13")), year_ends)
def test_no_bookkeeping_entry_is_released_before_five_years_after_its_financial_years_end(entries, holder,
                                                                                           year_end):
    """Bokføringsloven § 13: every entry at every chain is kept five years after the end of its own financial
    year, whatever the year end, and its release run starts the day after its hold's last day."""
    policy, key = holder
    policy = policy.model_copy(update={"financial_year_end": year_end})
    holds = [h for h in holds_for(policy, key, Clocks(bookkeeping_entries=distinct_days(entries)))
             if h.basis == "bokforingsloven-13"]

    for entry in entries:
        hold = covering(holds, entry)
        year_ended = financial_year_end(entry, year_end)
        assert add_years(year_ended, 5) < released_on(hold) == hold.retain_until + timedelta(days=1)
        assert hold.retain_until == financial_year_end(hold.retain_until, year_end)
        assert hold.retain_until <= add_years(year_ended, 5) + timedelta(days=1)


@given(st.lists(days, min_size=1, max_size=6), st.sampled_from(holders("bokforingsloven-13-secondary")))
def test_no_contract_is_released_before_three_and_a_half_years_after_the_year_it_ended(ended, holder):
    """Bokføringsloven § 13: a contract is kept at least three years and six months after the end of the
    financial year it ended in; Spenst keeps it the five years its policy promises."""
    policy, key = holder
    holds = [h for h in holds_for(policy, key, Clocks(contract_ends=distinct_days(ended))) if h.rule == "contract"]

    for day in ended:
        year_ended = financial_year_end(day, policy.financial_year_end)
        least = add_months(year_ended, 60 if policy.controller == "spenst" else 42)
        assert least < released_on(covering(holds, day)) <= least + timedelta(days=1)


@given(st.lists(days, min_size=1, max_size=6))
def test_spenst_deletes_each_purchase_the_day_after_its_second_year(purchases):
    """Spenst: "Kjøpsdata slettes etter 2 år": each purchase, old or new, is deleted the day after it has been
    kept two years, not when the newest purchase has."""
    holds = [h for h in holds_for(CHAINS["spenst"], "exceline", Clocks(purchases=distinct_days(purchases)))
             if h.rule == "purchases"]

    for purchased in purchases:
        assert add_years(purchased, 2) + timedelta(days=1) == released_on(covering(holds, purchased))


@given(st.lists(days, min_size=1, max_size=8))
def test_mova_footage_is_gone_within_a_week_of_its_own_recording(recordings):
    """MOVA: "slettes innen én uke etter at opptaket er gjort": every snapshot, from any hour of its day, is
    gone by the same hour seven days on, however much newer footage there is."""
    holds = holds_for(CHAINS["mova"], "exceline", Clocks(recordings=distinct_days(recordings)))

    for recorded in recordings:
        earliest_moment = datetime.combine(recorded, time(0, 0), tzinfo=OSLO)
        assert release_time(covering(holds, recorded).retain_until) <= earliest_moment + timedelta(days=7)


@given(st.lists(days, min_size=1, max_size=4))
def test_mova_deletes_each_exclusion_record_once_its_exclusion_is_over(ends):
    """MOVA: "slettes etter at en eventuell utestengelsesperiode er over": kept through its last day, deleted the
    day after."""
    holds = [h for h in holds_for(CHAINS["mova"], "exceline", Clocks(exclusion_ends=distinct_days(ends)))
             if h.rule == "exclusion"]

    for last_day in ends:
        assert last_day + timedelta(days=1) == released_on(covering(holds, last_day))


@given(days)
def test_stripe_keeps_the_customer_until_the_withdrawal_period_has_run_out(paid):
    """Vekstly, angrerettloven: the withdrawal may be used through the 14th day after payment, so the customer
    is kept through it and its release starts the day after."""
    [hold] = [h for h in holds_for(CHAINS["vekstly"], "stripe", Clocks(last_payment=paid)) if h.rule == "withdrawal"]

    assert paid + timedelta(days=15) == released_on(hold)


@given(days, st.sampled_from(holders("gdpr-17-3-e")))
def test_a_settled_claim_is_kept_for_the_limitation_period_from_its_due_date(due, holder):
    """Foreldelsesloven §§ 2-3: a claim's record is kept three years from the day payment could be demanded;
    its release starts the day after."""
    policy, key = holder
    [hold] = [h for h in holds_for(policy, key, Clocks(claim_due=due)) if h.rule == "claim"]

    assert add_years(due, 3) + timedelta(days=1) == released_on(hold)


@given(days, st.integers(0, 24))
def test_a_chain_buffer_is_the_latest_day_and_never_before_its_event(start, months):
    """"innen tre måneder etter ...": the latest day is the event's day that many months on."""
    buffer = Period(months=months)

    assert add_months(start, months) == latest_action_day(start, buffer)
    assert start <= latest_action_day(start, buffer)


def test_spenst_settled_on_31_august_erases_by_30_november():
    """Three months after 31 August is the last day of November."""
    assert date(2026, 11, 30) == latest_action_day(date(2026, 8, 31), Period(months=3))


def test_mova_relationship_ended_29_february_erases_by_29_august():
    """Six months after 29 February 2028 is 29 August 2028."""
    assert date(2028, 8, 29) == latest_action_day(date(2028, 2, 29), Period(months=6))


def test_a_guest_whose_six_months_end_on_28_february_may_have_visited_on_the_31st():
    """31 August + 6 months is 28 February: on 1 March every visit from 29-31 August is stale, 1 September not."""
    cut_off = stale_before(date(2027, 3, 1), Period(months=6))

    assert date(2026, 9, 1) == cut_off


def test_the_gdpr_month_is_reused_for_requests():
    """The request deadline keeps using the GDPR month of config/dates.py."""
    assert date(2027, 2, 28) == gdpr_deadline(date(2027, 1, 31))

