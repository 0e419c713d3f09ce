"""A legal hold a person sets: one member's category at one processor kept past its own rule (pure functions).

Footage the police asked for, data kept to defend a legal claim (MOVA: "med mindre det er sannsynlig at
opptakene vil måtte brukes for å forsvare rettskrav eller utleveres til politiet"), or any category under
dispute (GDPR Art. 17(3)(e), 18(1)(c)): while the legal hold lasts the category is restricted, never erased;
then the category's own rule applies, on the later of its date and the legal hold's end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from config.holds import Hold
from config.policy import Policy

# The day an open-ended legal hold (until lifted) is due on in the ledger: never, until a person lifts it.
UNTIL_LIFTED = date(9999, 12, 31)
# How a hold row the sweep kept for a legal hold begins its detail: lifting the legal hold dates these again.
KEPT = "kept by a legal hold"
BASIS = "gdpr-17-3-e"
CITATION = ("GDPR Art. 17(3)(e) and 18(1)(c): kept, restricted, to establish, exercise or defend a legal claim, or "
            "for the police, while a person's legal hold lasts")
RULE = "legal-hold"  # the rule a category no retention rule holds is held under while a legal hold lasts


@dataclass(frozen=True)
class LegalHold:
    """A person's hold on one member's category at one processor: why, who, from when, until when."""

    controller: str
    member_id: str
    system: str  # the processor, as its holds name it
    category: str
    reason: str
    set_by: str
    set_at: datetime
    ends_on: date | None = None  # None: until a person lifts it
    lifted_by: str | None = None
    lifted_on: date | None = None

    @property
    def end(self) -> date:
        """The day the legal hold stops keeping the category: its end, the day it was lifted, or never."""
        days = [d for d in (self.ends_on, self.lifted_on) if d is not None]
        return min(days) if days else UNTIL_LIFTED

    def lasts_on(self, day: date) -> bool:
        """Whether the legal hold still keeps the category on `day` (it ends on its end day)."""
        return day < self.end

    def covers(self, system: str, categories: Iterable[str]) -> bool:
        """Whether it is on this processor and one of these categories."""
        return self.system == system and self.category in set(categories)

    def until(self) -> str:
        """Until when it keeps the category, in words: lifted on a day by a person, until its end, or until lifted."""
        if self.lifted_on:
            return f"lifted on {self.lifted_on} by {self.lifted_by}"
        return f"until {self.ends_on}" if self.ends_on else "until lifted"

    def words(self) -> str:
        """The legal hold in words for the evidence: who set it, why, and until when; never the member."""
        return f"legal hold on {self.category} at {self.system} set by {self.set_by} ({self.reason}), {self.until()}"


class LegalHoldRefused(ValueError):
    """A legal hold that cannot be set as asked; the message says what to give instead."""


def check_legal_hold(policy: Policy, system: str, category: str, ends_on: date | None, today: date,
                     reason: str, set_by: str, by_category: bool = True) -> None:
    """Raise LegalHoldRefused unless the chain has the processor and category, erased per category, with a reason
    and an end to come."""
    systems = [p.system for p in policy.processors if p.data]
    if system not in systems:
        raise LegalHoldRefused(f"{policy.controller} has no processor {system!r} with a data map; its processors: "
                               f"{systems}")
    processor = next(p for p in policy.processors if p.system == system)
    known = [c.category for c in processor.data]
    if category not in known:
        raise LegalHoldRefused(f"{system} at {policy.controller} holds no category {category!r}; its data map "
                               f"names: {known}")
    if next(c for c in processor.data if c.category == category).marketing:
        raise LegalHoldRefused(f"{category} at {system} is marketing, which every request deletes in its first step "
                               "(GDPR Art. 21(3)): keep the data at the processor by hand and hold its export instead")
    if not by_category:
        raise LegalHoldRefused(f"{system} is erased as a whole, not per category, so slett cannot keep one category "
                               "there: keep the data at the processor by hand and hold its export instead")
    if not reason.strip():
        raise LegalHoldRefused("a legal hold needs its reason (the case, the police request): the evidence shows it")
    if not set_by.strip():
        raise LegalHoldRefused("a legal hold needs the person who sets it")
    if ends_on is not None and ends_on <= today:
        raise LegalHoldRefused(f"the legal hold would end on {ends_on}, not after today ({today}): give a later "
                               "day, or none to keep it until lifted")


def lasting(legal: Iterable[LegalHold], system: str, categories: Iterable[str], day: date) -> list[LegalHold]:
    """The legal holds that keep any of these categories at this processor on `day`."""
    named = tuple(categories)
    return [h for h in legal if h.covers(system, named) and h.lasts_on(day)]


def kept_by_legal_holds(hold: Hold, legal: Iterable[LegalHold], day: date) -> Hold:
    """The hold, kept past its own date until the latest end of the legal holds on its categories that last on
    `day`; unchanged when none does."""
    keeping = lasting(legal, hold.system, hold.categories, day)
    if not keeping:
        return hold
    return replace(hold, legal_until=max(h.end for h in keeping))


def after_lift(hold: Hold, lifted_on: date) -> Hold:
    """A hold a lifted legal hold kept: due again under its own rule, on the later of its date and the lift (a
    category only the legal hold kept: on the lift's day)."""
    if hold.rule == RULE:
        return replace(hold, retain_until=lifted_on, legal_until=None)
    return replace(hold, legal_until=None)


def case_hold(system: str, categories: tuple[str, ...], legal: Iterable[LegalHold], day: date) -> Hold:
    """The hold on categories the data map erases at once but a legal hold keeps: restricted as they are, until the
    legal hold ends; then the data map's action is carried out."""
    until = max(h.end for h in lasting(legal, system, categories, day))
    return Hold(system, RULE, categories, BASIS, CITATION, until, False, legal_until=until)
