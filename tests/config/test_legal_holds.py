"""Legal holds a person sets: what may be held, and the day a held category goes (the later of the dates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.holds import Clocks, holds_for
from config.legal_holds import (
    UNTIL_LIFTED,
    LegalHold,
    LegalHoldRefused,
    after_lift,
    check_legal_hold,
    kept_by_legal_holds,
)
from config.policy import load_policy
from connectors.contract import Action, CategoryErasure
from connectors.registry import known_systems
from domain.categories import under_legal_holds
from tests.config.test_policy import CONTROLLERS

MOVA = load_policy("mova", CONTROLLERS, known_systems())
TODAY = date(2026, 12, 7)


def legal(ends_on: date | None = None, category: str = "camera", lifted_on: date | None = None) -> LegalHold:
    return LegalHold("mova", "M1501", "exceline", category, "Politiet ba om opptaket", "Kari Drift",
                     datetime(2026, 12, 7, 9, tzinfo=UTC), ends_on, "Kari Drift" if lifted_on else None, lifted_on)


@pytest.mark.parametrize(("system", "category", "ends_on", "reason", "by", "why"), [
    ("stripe", "camera", None, "sak 1", "Kari", "has no processor 'stripe'"),
    ("exceline", "tattoos", None, "sak 1", "Kari", "holds no category 'tattoos'"),
    ("exceline", "camera", None, " ", "Kari", "needs its reason"),
    ("exceline", "camera", None, "sak 1", "", "needs the person"),
    ("exceline", "camera", TODAY, "sak 1", "Kari", "not after today"),
    ("ibooking", "bookings", None, "sak 1", "Kari", "erased as a whole"),
    ("crm", "purchases", None, "sak 1", "Kari", "is marketing, which every request deletes in its first step"),
])
def test_a_legal_hold_names_a_processor_and_category_of_the_chain_its_reason_its_setter_and_a_later_end(
        system, category, ends_on, reason, by, why):
    """A legal hold is refused, saying what to give, unless the chain's data map has the processor and category,
    erased per category and not marketing (deleted in the first step), it has a reason and a person, and its end
    is after today."""
    with pytest.raises(LegalHoldRefused, match=why):
        check_legal_hold(MOVA, system, category, ends_on, TODAY, reason, by, system != "ibooking")


def test_footage_under_a_legal_hold_is_due_when_the_legal_hold_ends_not_on_its_day_six():
    """A snapshot held to its day six under a legal hold until 31 January goes on 31 January."""
    [hold] = holds_for(MOVA, "exceline", Clocks(recordings=(TODAY - timedelta(days=2),)))

    kept = kept_by_legal_holds(hold, [legal(date(2027, 1, 31))], TODAY + timedelta(days=4))

    assert (TODAY + timedelta(days=4), date(2027, 1, 31)) == (hold.release_day, kept.release_day)


def test_a_legal_hold_with_no_end_keeps_the_hold_until_lifted_then_its_own_date_applies():
    """Until lifted, the held snapshot is due on no day; lifted, it is due on its own date again."""
    [hold] = holds_for(MOVA, "exceline", Clocks(recordings=(TODAY,)))

    kept = kept_by_legal_holds(hold, [legal()], TODAY + timedelta(days=6))

    assert (UNTIL_LIFTED, hold.retain_until) == (kept.release_day, after_lift(kept, TODAY).release_day)


def test_a_legal_hold_on_another_category_or_one_lifted_keeps_nothing():
    """Only a legal hold on the hold's own category, lasting on the day, keeps it."""
    [hold] = holds_for(MOVA, "exceline", Clocks(recordings=(TODAY,)))

    assert hold == kept_by_legal_holds(hold, [legal(category="visits"), legal(lifted_on=TODAY)], TODAY)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 1, 1)),
       st.integers(min_value=1, max_value=4000))
def test_a_held_category_never_goes_before_either_date(recorded, days):
    """The law in one line: a held snapshot goes on the later of its own date and the legal hold's end."""
    [hold] = holds_for(MOVA, "exceline", Clocks(recordings=(recorded,)))
    ends = recorded + timedelta(days=days)

    kept = kept_by_legal_holds(hold, [legal(ends)], recorded)

    assert max(hold.retain_until, ends) == kept.release_day


def test_a_category_whose_deletion_takes_a_kept_one_is_kept_with_it():
    """A legal hold on Spenst's door log keeps the log restricted as it is, and with it the card holder and the
    cards, since every call that deletes one deletes the card holder with the rest; without a hold all go."""
    erasures = tuple(CategoryErasure(c, Action.DELETE) for c in ("entries", "credentials", "cardholder"))
    taken = {"cardholder": ("credentials", "entries"), "credentials": ("cardholder", "entries"),
             "entries": ("cardholder", "credentials")}
    door_log = replace(legal(category="entries"), system="access")

    kept = under_legal_holds(erasures, "access", [door_log], TODAY, taken)
    free = under_legal_holds(erasures, "access", [], TODAY, taken)

    assert [("entries", "restrict", "legal-hold"), ("credentials", "restrict", "legal-hold"),
            ("cardholder", "restrict", "legal-hold")] == [(e.category, e.action.value, e.rule) for e in kept]
    assert erasures == free

