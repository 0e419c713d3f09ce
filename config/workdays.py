"""Working days in Norway and a request's answer deadline: pure functions of dates, never of the clock."""

from __future__ import annotations

from datetime import date, timedelta

from config.dates import gdpr_deadline

ONE_MONTH = "GDPR Art. 12(3): one month from receipt"


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm of Meeus, Jones and Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    return date(year, month, (h + ell - 7 * m + 33 * month + 19) % 32)


def public_holidays(year: int) -> frozenset[date]:
    """Norway's public holidays (lov om 1. og 17. mai som høgtidsdager, helligdagsloven § 2)."""
    easter = easter_sunday(year)
    # Skjærtorsdag, langfredag, påskedag, 2. påskedag, Kristi himmelfartsdag, pinsedag, 2. pinsedag.
    moving = {easter + timedelta(days=n) for n in (-3, -2, 0, 1, 39, 49, 50)}
    fixed = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 17), date(year, 12, 25), date(year, 12, 26)}
    return frozenset(moving | fixed)


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a Norwegian public holiday."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


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
                      f"(earlier than {ONE_MONTH})")
