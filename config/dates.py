"""Retention date arithmetic: pure functions of dates, never of the clock."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

WARN_DAYS = 7  # an open request this near its deadline is flagged
OVERDUE = "overdue"
DUE_SOON = "due-soon"
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})")
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


def _last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@dataclass(frozen=True)
class MonthDay:
    """A day of the year without a year, such as the last day of a financial year."""

    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1 to 12 (got {self.month})")
        # A leap year (2000) admits 02-29; in other years it is clamped to 02-28 where used.
        longest = _last_day_of_month(2000, self.month)
        if not 1 <= self.day <= longest:
            raise ValueError(f"day must be 1 to {longest} in month {self.month} (got {self.day})")

    @classmethod
    def parse(cls, text: str) -> MonthDay:
        """Read "MM-DD", e.g. "12-31" or "06-30"."""
        found = _MONTH_DAY.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"a day of the year must look like MM-DD, e.g. 12-31 (got {text!r})")
        return cls(int(found[1]), int(found[2]))

    def in_year(self, year: int) -> date:
        """This day in the given year, 29 February becoming 28 February outside leap years."""
        return date(year, self.month, min(self.day, _last_day_of_month(year, self.month)))

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


DEC_31 = MonthDay(12, 31)


def financial_year_end(entry: date, year_end: MonthDay = DEC_31) -> date:
    """The last day of the financial year that contains the entry."""
    this_year = year_end.in_year(entry.year)
    return this_year if entry <= this_year else year_end.in_year(entry.year + 1)


def add_months(start: date, months: int) -> date:
    """The same day some months later, or that month's last day if it has no such day."""
    year, month_index = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(start.day, _last_day_of_month(year, month)))


def add_years(start: date, years: int) -> date:
    """The same day some years later, 29 February becoming 28 February outside leap years."""
    return add_months(start, 12 * years)


@dataclass(frozen=True)
class Period:
    """A retention period in whole years, months and days, written as ISO 8601 ("P3Y6M")."""

    years: int = 0
    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if min(self.years, self.months, self.days) < 0:
            raise ValueError(
                f"period must be positive (got years={self.years}, months={self.months}, days={self.days})"
            )

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read an ISO 8601 duration of whole years, months, weeks and days: P5Y, P3Y6M, P14D, P0D."""
        cleaned = text.strip().upper()
        if cleaned.startswith("-"):
            raise ValueError(f"period must be positive (got {text})")
        found = _DURATION.fullmatch(cleaned)
        if found is None or cleaned == "P":
            raise ValueError(
                "period must be an ISO 8601 duration of whole years, months, weeks or days, "
                f"e.g. P5Y, P3Y6M or P14D (got {text!r})"
            )
        years, months, weeks, days = (int(part) if part else 0 for part in found.groups())
        return cls(years=years, months=months, days=7 * weeks + days)

    def after(self, start: date) -> date:
        """The day this period after start: years and months as calendar months, then days."""
        return add_months(start, 12 * self.years + self.months) + timedelta(days=self.days)

    def earliest_start_not_over_by(self, day: date) -> date:
        """The first start whose period has not run out by `day`: starts before it have ended before `day`."""
        # `after` clamps month ends (31 August + 6 months = 28 February), so several starts can share an
        # end; step from the arithmetic guess to the exact boundary, a few days at most.
        start = add_months(day - timedelta(days=self.days), -(12 * self.years + self.months))
        while self.after(start - timedelta(days=1)) >= day:
            start -= timedelta(days=1)
        while self.after(start) < day:
            start += timedelta(days=1)
        return start

    def __str__(self) -> str:
        parts = [(self.years, "Y"), (self.months, "M"), (self.days, "D")]
        written = "".join(f"{amount}{unit}" for amount, unit in parts if amount)
        return f"P{written or '0D'}"


def after_financial_year(entry: date, period: Period, year_end: MonthDay = DEC_31) -> date:
    """The last day `period` after the end of the entry's financial year."""
    end = financial_year_end(entry, year_end)
    if period.months or period.days:
        return period.after(end)
    # Whole years are counted in financial years, so a year ending 29 February ends on the 29th again in a
    # leap year (add_years would give the 28th): never earlier than the calendar count, and a year end.
    return year_end.in_year(end.year + period.years)


def gdpr_deadline(received: date, extended: bool = False) -> date:
    """The day a data subject's request must be answered by: one month, or three when extended."""
    # GDPR Art. 12(3): one month from receipt, extendable by two further months.
    return add_months(received, 3 if extended else 1)


def latest_action_day(start: date, buffer: Period) -> date:
    """The last day a chain's buffer allows ("within 3 months after ..."); acting earlier is always allowed."""
    return buffer.after(start)


def stale_before(as_of: date, kept: Period) -> date:
    """The cut-off for a rolling purge on `as_of`: what was last active before it has reached `kept` by `as_of`."""
    # "Deleted after 6 months" is kept on the day six months after the last visit, never the day after it.
    return kept.earliest_start_not_over_by(as_of + timedelta(days=1))


def deadline_flag(deadline: date, today: date, warn_days: int = WARN_DAYS) -> str | None:
    """'overdue' past the deadline, 'due-soon' within `warn_days` of it, else None."""
    if today > deadline:
        return OVERDUE
    return DUE_SOON if (deadline - today).days <= warn_days else None
