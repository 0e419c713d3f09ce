"""The chains' own clocks as pure date functions: each law or promise as a property, the edges as examples."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from config.dates import (
    Period,
    add_months,
    add_years,
    claim_last_day,
    footage_last_day,
    gdpr_deadline,
    latest_action_day,
    purchase_last_day,
    stale_before,
    withdrawal_last_day,
)

days = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))
periods = st.builds(Period, years=st.integers(0, 10), months=st.integers(0, 24), days=st.integers(0, 60))


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


@given(days)
def test_a_settled_claim_is_kept_for_the_three_year_limitation_from_its_due_date(due):
    """Foreldelsesloven §§ 2-3: three calendar years from the due date, never less."""
    assert add_years(due, 3) == claim_last_day(due)
    assert claim_last_day(due) >= due + timedelta(days=3 * 365)


@given(days)
def test_purchase_data_is_kept_two_years_and_no_longer(purchased):
    """Spenst: "Kjøpsdata slettes etter 2 år": the last day kept is the purchase's day two years on."""
    last = purchase_last_day(purchased)
    assert add_years(purchased, 2) == last
    assert (last - purchased).days >= 2 * 365


@given(days)
def test_stripe_data_stays_through_the_14_day_withdrawal_period(paid):
    """Angrerettloven: the withdrawal may be used on day 14, so the payment is kept through it."""
    assert 14 == (withdrawal_last_day(paid) - paid).days


@given(days)
def test_camera_footage_is_gone_within_a_week_of_any_hour_of_its_day(recorded):
    """MOVA: released at 00:00 the day after its last day, footage from any hour of day 0 is gone by day 7."""
    released_on = footage_last_day(recorded) + timedelta(days=1)
    assert recorded + timedelta(days=7) == released_on


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

