"""Working days (virkedager) in Norway and a request's answer deadline: pure functions of dates, never of the clock."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays

from config.dates import add_months, gdpr_deadline

ONE_MONTH = "GDPR Art. 12(3): one month from receipt"
# In Norwegian law a "virkedag" is every day but Sundays and public holidays: Saturday counts
# (ferieloven § 5 (1)); the chains promise answers in virkedager.
VIRKEDAG = "a virkedag: any day but a Sunday or a Norwegian public holiday (ferieloven § 5)"


@cache
def public_holidays(year: int) -> frozenset[date]:
    """Norway's public holidays in `year` (helligdagsloven § 2; lov om 1. og 17. mai), from `holidays`."""
    return frozenset(holidays.country_holidays("NO", years=year))


def is_working_day(day: date) -> bool:
    """A virkedag: Monday to Saturday, and not a Norwegian public holiday."""
    return day.weekday() != 6 and day not in public_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself not counted; 0 gives `start`)."""
    if days < 0:
        raise ValueError(f"working days must not be negative (got {days})")
    day = start
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return day


def answer_deadline(received: date, promised_working_days: int | None = None,
                    chain: str = "the chain") -> tuple[date, str]:
    """The day a request must be answered by and why: the GDPR month, or the chain's own earlier promise."""
    legal = gdpr_deadline(received)
    if promised_working_days is None:
        return legal, ONE_MONTH
    promised = add_working_days(received, promised_working_days)
    if promised >= legal:
        return legal, ONE_MONTH
    return promised, (f"{chain}'s own promise: answered within {promised_working_days} working days "
                      f"(virkedager, Saturdays included; earlier than {ONE_MONTH})")


def tell_of_delay(deadline: date, today: date) -> bool:
    """Whether a request still waiting today must be told now that it will be answered late (GDPR Art. 12(4)).

    On its deadline, or after it: the member must hear by the deadline why the request waits, and a run still
    waiting on that day (the daily check runs at 06:00 Oslo) is taken to wait past it.
    """
    return today >= deadline


def expected_after_wait(received: date, today: date) -> date:
    """The day a request waiting past its deadline is expected to be answered: the longest GDPR allows.

    Art. 12(3) lets a request take two further months, three from receipt, where necessary. Assumption: a run
    waiting for its final invoice finishes by then (a daily sweep resumes it the morning after payment, and an
    unpaid invoice goes to debt collection, which the chains hold as a claim instead of waiting); once that
    day has passed, one month from today.
    """
    longest = gdpr_deadline(received, extended=True)
    return longest if longest > today else add_months(today, 1)
