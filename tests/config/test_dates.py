"""Retention date arithmetic: the law as properties, the awkward days as examples."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.dates import (
    DEC_31,
    MonthDay,
    Period,
    add_months,
    add_years,
    financial_year_end,
    gdpr_deadline,
)
from config.holds import last_day
from config.policy import load_policy
from tests.config.test_policy import CONTROLLERS, KNOWN

# The law's periods as the chains' YAML states them (the demo chain's rules): the one source of each period.
DEMO = load_policy("demo", CONTROLLERS, KNOWN)


def kept_until(rule: str, start: date, year_end: MonthDay = DEC_31) -> date:
    """The last day the demo chain's rule keeps a record dated `start`, its financial year ending `year_end`."""
    return last_day(DEMO.rule(rule), start, year_end)


days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
year_ends = st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 12, 31)).map(
    lambda day: MonthDay(day.month, day.day)
)
months = st.integers(min_value=-1200, max_value=1200)
periods = st.builds(
    Period,
    years=st.integers(min_value=0, max_value=50),
    months=st.integers(min_value=0, max_value=24),
    days=st.integers(min_value=0, max_value=400),
)


def last_day_of_month(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


# The law, one line each.


@given(days, year_ends)
def test_bookkeeping_release_is_never_less_than_five_years_after_the_entry(entry, year_end):
    """The bookkeeping release date is never less than five years after the entry."""
    assert add_years(entry, 5) <= kept_until("bookkeeping", entry, year_end)


@given(days, year_ends)
def test_bookkeeping_release_is_less_than_six_years_after_the_entry(entry, year_end):
    """Nothing is kept more than a financial year beyond the five years the law asks for."""
    assert kept_until("bookkeeping", entry, year_end) < add_years(entry, 6)


@given(days, year_ends)
def test_bookkeeping_release_is_a_financial_year_end(entry, year_end):
    """Primary documentation is released on the last day of a financial year."""
    released = kept_until("bookkeeping", entry, year_end)

    assert released == financial_year_end(released, year_end)


@given(days, year_ends)
def test_secondary_documentation_is_kept_three_and_a_half_years(entry, year_end):
    """Secondary documentation is kept three years six months after the financial year ends."""
    expected = add_months(financial_year_end(entry, year_end), 42)

    assert expected == kept_until("contract", entry, year_end)
    assert kept_until("contract", entry, year_end) < kept_until("bookkeeping", entry, year_end)


@given(days)
def test_calendar_financial_year_ends_on_31_december(entry):
    """The financial year end is always a 31 December for a calendar year."""
    assert date(entry.year, 12, 31) == financial_year_end(entry)


@given(days, year_ends)
def test_financial_year_end_is_within_a_year_after_the_entry(entry, year_end):
    """The financial year end is on or after the entry and no more than a year after it."""
    end = financial_year_end(entry, year_end)

    assert entry <= end <= add_years(entry, 1)


@given(days, months)
def test_add_months_never_overflows_into_the_following_month(start, count):
    """add_months lands in the month asked for, never spilling into the next one."""
    moved = add_months(start, count)

    assert start.year * 12 + start.month + count == moved.year * 12 + moved.month


@given(days, months)
def test_add_months_keeps_the_day_or_takes_the_last_day(start, count):
    """add_months keeps the day of the month, or takes the month's last day if it is shorter."""
    moved = add_months(start, count)

    assert moved.day == start.day or (moved.day < start.day and last_day_of_month(moved))


@given(days)
def test_journal_review_is_exactly_ten_years_after(last_entry):
    """Journal review is exactly ten years after, same day or 28 Feb."""
    review = kept_until("journal", last_entry)

    assert last_entry.year + 10 == review.year
    same_day = (last_entry.month, last_entry.day) == (review.month, review.day)
    leap_day_to_28_february = (last_entry.month, last_entry.day, review.day) == (2, 29, 28)
    assert same_day or leap_day_to_28_february


@given(days)
def test_gdpr_deadline_is_one_calendar_month(received):
    """The answer is due one calendar month after receipt: 28 to 31 days."""
    assert 28 <= (gdpr_deadline(received) - received).days <= 31


@given(days)
def test_extended_gdpr_deadline_is_two_further_months(received):
    """An extended deadline is two months after the ordinary one, or that month's last day."""
    ordinary = gdpr_deadline(received)
    extended = gdpr_deadline(received, extended=True)

    assert add_months(received, 3) == extended
    assert 59 <= (extended - ordinary).days <= 62


@given(periods, days)
def test_a_period_never_ends_before_it_starts(period, start):
    """A period ends on or after its start."""
    assert start <= period.after(start)


@given(periods)
def test_a_period_reads_back_what_it_writes(period):
    """A period written as ISO 8601 parses back to itself."""
    assert period == Period.parse(str(period))


# The awkward days.


def test_31_january_plus_one_month_is_end_of_february():
    """31 January plus one month is 28 February, or 29 in a leap year (GDPR Art. 12(3))."""
    assert date(2025, 2, 28) == add_months(date(2025, 1, 31), 1)
    assert date(2024, 2, 29) == add_months(date(2024, 1, 31), 1)


def test_request_received_31_january_is_due_end_of_february():
    """A request received on 31 January is due on the last day of February."""
    assert date(2026, 2, 28) == gdpr_deadline(date(2026, 1, 31))


def test_extended_deadline_from_30_november():
    """A request received 30 November and extended is due 28 February."""
    assert date(2026, 2, 28) == gdpr_deadline(date(2025, 11, 30), extended=True)


def test_add_months_backwards_across_a_year():
    """Negative months count back, across the turn of a year."""
    assert date(2024, 11, 30) == add_months(date(2025, 3, 30), -4)


def test_29_february_plus_one_year_is_28_february():
    """29 February plus a year is 28 February."""
    assert date(2025, 2, 28) == add_years(date(2024, 2, 29), 1)


def test_29_february_plus_four_years_is_29_february():
    """29 February plus four years is 29 February again."""
    assert date(2028, 2, 29) == add_years(date(2024, 2, 29), 4)


def test_journal_from_29_february_is_reviewed_28_february():
    """A journal last written on 29 February 2024 is reviewed on 28 February 2034."""
    assert date(2034, 2, 28) == kept_until("journal", date(2024, 2, 29))


def test_journal_is_reviewed_ten_years_after_the_last_entry():
    """A journal last written on 15 March 2025 is reviewed on 15 March 2035."""
    assert date(2035, 3, 15) == kept_until("journal", date(2025, 3, 15))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (date(2025, 7, 1), date(2026, 6, 30)),
        (date(2026, 6, 30), date(2026, 6, 30)),
        (date(2026, 1, 15), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2027, 6, 30)),
    ],
)
def test_financial_year_ending_30_june(entry, expected):
    """A financial year ending 06-30 runs 1 July to 30 June."""
    assert expected == financial_year_end(entry, MonthDay.parse("06-30"))


def test_financial_year_ending_29_february_ends_28_february_in_other_years():
    """A financial year ending 29 February ends on 28 February outside leap years."""
    year_end = MonthDay(2, 29)

    assert date(2027, 2, 28) == financial_year_end(date(2026, 3, 1), year_end)
    assert date(2028, 2, 29) == financial_year_end(date(2027, 3, 1), year_end)
    assert date(2028, 2, 29) == financial_year_end(date(2028, 2, 29), year_end)


def test_invoice_in_march_2025_is_kept_to_the_end_of_2030():
    """An invoice from March 2025 is kept until 31 December 2030 (bokføringsloven §13)."""
    assert date(2030, 12, 31) == kept_until("bookkeeping", date(2025, 3, 14))


def test_invoice_on_the_last_day_of_the_year_is_kept_five_years():
    """An invoice dated 31 December 2025 is kept until 31 December 2030."""
    assert date(2030, 12, 31) == kept_until("bookkeeping", date(2025, 12, 31), DEC_31)


def test_invoice_with_a_june_year_end():
    """With a 06-30 year end an invoice from August 2025 is kept until 30 June 2031."""
    assert date(2031, 6, 30) == kept_until("bookkeeping", date(2025, 8, 1), MonthDay(6, 30))


def test_contract_is_kept_to_mid_2029():
    """A contract from 2025 is kept until 30 June 2029: 31 December 2025 plus three and a half years."""
    assert date(2029, 6, 30) == kept_until("contract", date(2025, 5, 2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P5Y", Period(years=5)),
        ("P3Y6M", Period(years=3, months=6)),
        ("P10Y", Period(years=10)),
        ("P6M", Period(months=6)),
        ("P14D", Period(days=14)),
        ("P2W", Period(days=14)),
        ("P0D", Period()),
        (" p1y2m3d ", Period(years=1, months=2, days=3)),
    ],
)
def test_period_parses_iso_8601_durations(text, expected):
    """Periods are read from ISO 8601 durations of years, months, weeks and days."""
    assert expected == Period.parse(text)


def test_negative_period_is_refused_with_the_text():
    """A negative period is refused, and the message repeats what was written."""
    with pytest.raises(ValueError, match=r"period must be positive \(got -P2Y\)"):
        Period.parse("-P2Y")


def test_negative_period_fields_are_refused():
    """A period built with a negative field is refused."""
    with pytest.raises(ValueError, match="period must be positive"):
        Period(months=-1)


@pytest.mark.parametrize("text", ["", "P", "5Y", "P5", "P1.5Y", "PT1H", "P1D2Y", "five years"])
def test_garbage_period_is_refused_with_an_example(text):
    """Anything but an ISO 8601 duration of whole days, months and years is refused, showing a good one."""
    with pytest.raises(ValueError, match=r"e\.g\. P5Y, P3Y6M or P14D \(got "):
        Period.parse(text)


def test_period_after_adds_months_then_days():
    """A period adds its years and months as calendar months, then its days."""
    assert date(2025, 3, 2) == Period(months=1, days=2).after(date(2025, 1, 31))


def test_period_writes_iso_8601():
    """A period writes itself as ISO 8601, P0D when empty."""
    expected = ["P3Y6M", "P14D", "P0D"]

    assert expected == [str(Period(3, 6)), str(Period(days=14)), str(Period())]


def test_month_day_parses_and_writes():
    """A day of the year is read and written as MM-DD."""
    june_30, dec_31 = "06-30", DEC_31

    assert june_30 == str(MonthDay.parse("6-30"))
    assert dec_31 == MonthDay.parse("12-31")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("13-01", "month must be 1 to 12"),
        ("02-30", "day must be 1 to 29 in month 2"),
        ("04-31", "day must be 1 to 30 in month 4"),
        ("00-10", "month must be 1 to 12"),
        ("12/31", "must look like MM-DD"),
    ],
)
def test_month_day_refuses_days_that_do_not_exist(text, message):
    """A day of the year that no calendar has is refused, naming the problem."""
    with pytest.raises(ValueError, match=message):
        MonthDay.parse(text)


def test_bookkeeping_release_for_a_29_february_year_end_lands_on_the_29th_in_a_leap_year():
    """A financial year ending 29 Feb (28 Feb in 2003) is kept until the year end five years on: 29 Feb 2008."""
    expected = date(2008, 2, 29)
    assert expected == kept_until("bookkeeping", date(2002, 3, 1), MonthDay(2, 29))
