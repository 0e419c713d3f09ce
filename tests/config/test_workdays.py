"""Working days in Norway, and a request's deadline under a chain's own promise."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.dates import gdpr_deadline
from config.policy import load_policy
from config.settings import PROJECT_ROOT
from config.workdays import (
    ONE_MONTH,
    add_working_days,
    answer_deadline,
    expected_after_wait,
    is_working_day,
    public_holidays,
    tell_of_delay,
)

# The holidays package builds its tables on first use: timing is no business of these tests.
UNTIMED = settings(deadline=None)
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
COUNTS = st.integers(min_value=0, max_value=60)


@UNTIMED
@given(DAYS, COUNTS)
def test_exactly_n_working_days_follow_the_start_up_to_the_result(start, n):
    """Between the day after `start` and the result, both included, lie exactly n working days, and the
    result is one of them (for n > 0)."""
    result = add_working_days(start, n)

    between = [start + timedelta(days=d) for d in range(1, (result - start).days + 1)]
    assert n == sum(is_working_day(day) for day in between)
    assert (n == 0) == (result == start)
    assert n == 0 or is_working_day(result)


@UNTIMED
@given(DAYS, COUNTS)
def test_one_more_working_day_is_later_and_at_most_four_days_later(start, n):
    """Each further working day comes after the one before, and never more than four days after it (no run
    of Sunday and Norwegian holidays is longer: Maundy Thursday to Easter Monday has the Saturday between)."""
    before, after = add_working_days(start, n), add_working_days(start, n + 1)

    assert 1 <= (after - before).days <= 4


@UNTIMED
@given(DAYS)
def test_sundays_are_never_working_days(day):
    """A Sunday is never a virkedag."""
    assert not (day.weekday() == 6 and is_working_day(day))


@UNTIMED
@given(DAYS)
def test_a_saturday_that_is_no_holiday_is_a_working_day(day):
    """Saturday is a virkedag in Norwegian law (ferieloven § 5), unless it is a public holiday."""
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)

    assert (saturday not in public_holidays(saturday.year)) == is_working_day(saturday)


@pytest.mark.parametrize(("year", "easter_monday"), [(2024, date(2024, 4, 1)), (2025, date(2025, 4, 21)),
                                                     (2026, date(2026, 4, 6)), (2038, date(2038, 4, 26))])
def test_easter_monday_on_known_dates_is_a_holiday(year, easter_monday):
    """Easter Monday falls on the dates the almanac gives and is a public holiday."""
    assert easter_monday in public_holidays(year)


@pytest.mark.parametrize("holiday", [date(2026, 1, 1), date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6),
                                     date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 25), date(2026, 12, 25),
                                     date(2025, 12, 26), date(2028, 5, 17)])
def test_norwegian_public_holidays_on_weekdays_are_not_working_days(holiday):
    """New Year, Maundy Thursday, Good Friday, Easter Monday, 1 and 17 May, Ascension, Whit Monday and
    Christmas are not working days even on a weekday."""
    assert (True, False) == (holiday.weekday() < 5, is_working_day(holiday))


def test_two_working_days_over_easter():
    """Aktiv365's two working days from Wednesday 1 April 2026 skip Easter: Saturday 4 and Tuesday 7 April."""
    assert date(2026, 4, 7) == add_working_days(date(2026, 4, 1), 2)


def test_aktiv365_answers_within_two_virkedager_saturday_included():
    """Two virkedager from Thursday 3 December 2026 are Friday and Saturday, not Friday and Monday."""
    assert date(2026, 12, 5) == add_working_days(date(2026, 12, 3), 2)


@UNTIMED
@given(DAYS, st.one_of(st.none(), st.integers(min_value=1, max_value=40)))
def test_the_deadline_is_the_earlier_of_the_month_and_the_promise(received, promised):
    """The deadline is never after GDPR's month, never after the promise, and says which one it is."""
    deadline, reason = answer_deadline(received, promised, "Kjeden")

    legal = gdpr_deadline(received)
    assert deadline == min(legal, add_working_days(received, promised) if promised else legal)
    assert (reason == ONE_MONTH) == (deadline == legal)


@pytest.mark.parametrize(("controller", "days"), [("aktiv365", 2), ("vekstly", 14), ("demo", None)])
def test_chains_promise_what_their_policies_say(controller, days):
    """Aktiv365 answers within 2 working days and Vekstly within 14, as their policies say; demo promises
    nothing beyond GDPR."""
    policy = load_policy(controller, PROJECT_ROOT / "config" / "controllers")

    assert days == policy.answer_within_working_days


@pytest.mark.parametrize(("today", "tell"), [(date(2026, 4, 6), False), (date(2026, 4, 7), True),
                                             (date(2026, 4, 8), True)])
def test_a_waiting_request_is_told_of_its_delay_on_its_deadline_not_after(today, tell):
    """A request still waiting on its deadline is told then (Art. 12(4): within the deadline), or at once if
    the day has passed; the day before, it may still be answered in time."""
    assert tell == tell_of_delay(date(2026, 4, 7), today)


@pytest.mark.parametrize(("received", "today", "expected"), [
    (date(2026, 4, 1), date(2026, 4, 7), date(2026, 7, 1)),
    (date(2026, 1, 31), date(2026, 2, 28), date(2026, 4, 30)),
    (date(2026, 1, 31), date(2026, 5, 2), date(2026, 6, 2))])
def test_a_delayed_request_is_expected_by_the_longest_day_gdpr_allows(received, today, expected):
    """Waiting past its deadline, a request is expected three months after receipt (Art. 12(3)); once that day
    has passed too, a month from today."""
    assert expected == expected_after_wait(received, today)
