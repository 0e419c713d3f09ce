"""What the law keeps back after an erasure, and until when: pure functions of policy and facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from config.dates import MonthDay, financial_year_end, latest_action_day
from config.policy import ActionName, Policy, RetentionRule


@dataclass(frozen=True)
class Hold:
    """Records one processor keeps, restricted, until `retain_until` because of `basis`."""

    system: str
    rule: str
    categories: tuple[str, ...]
    basis: str
    citation: str
    retain_until: date
    review_only: bool
    until_settled: bool = False
    holds_record: bool = False

    @property
    def key(self) -> str:
        """A stable name for this hold within a request."""
        return f"{self.system}-{self.rule}"


@dataclass(frozen=True)
class Clocks:
    """The dates at a processor that retention periods count from."""

    last_bookkeeping_entry: date | None = None
    last_journal_entry: date | None = None
    claim_due: date | None = None
    last_purchase: date | None = None
    last_recording: date | None = None
    exclusion_end: date | None = None
    last_payment: date | None = None


def clock_start(rule: RetentionRule, clocks: Clocks, year_end: MonthDay) -> date | None:
    """The day a rule's period starts counting, or None when the processor has nothing it covers."""
    if rule.clock == "financial_year_end":
        entry = clocks.last_bookkeeping_entry
        return financial_year_end(entry, year_end) if entry else None
    starts = {"last_journal_entry": clocks.last_journal_entry, "claim_due": clocks.claim_due,
              "purchase": clocks.last_purchase, "recording": clocks.last_recording,
              "exclusion_end": clocks.exclusion_end, "payment": clocks.last_payment}
    return starts[rule.clock]


def holds_for(policy: Policy, key: str, clocks: Clocks) -> list[Hold]:
    """The holds a processor's records fall under, with their last days."""
    processor = policy.processor(key)
    holds = []
    for name in processor.holds:
        rule = policy.rule(name)
        start = clock_start(rule, clocks, policy.financial_year_end)
        if start is None:
            continue
        holds.append(Hold(processor.system, rule.name, rule.categories, rule.basis.value, rule.basis.citation,
                          rule.period.after(start), rule.review_only, rule.until_settled, rule.holds_record))
    return holds


def planned_action(policy: Policy, key: str, holds: list[Hold], as_of: date) -> ActionName:
    """What to do at a processor for this member now, given the holds on its records."""
    processor = policy.processor(key)
    if any(hold.holds_record and hold.retain_until >= as_of for hold in holds):
        # The whole record is kept (a claim being pursued, a withdrawal period running): restrict it
        # now (GDPR Art. 18); the processor's own action follows when the hold is released.
        return "restrict"
    return processor.action


def moved_hold(hold: Hold, policy: Policy, still_owed: bool, as_of: date) -> Hold:
    """A hold whose date has come, again: until its recheck day if the amount is still owed."""
    rule = policy.rule(hold.rule)
    if not (still_owed and rule.until_settled and rule.recheck is not None):
        return hold
    return replace(hold, retain_until=rule.recheck.after(as_of))


def live_holds(holds: list[Hold], action: str) -> list[Hold]:
    """The holds that keep something: a hold on a whole record only where the record was restricted."""
    return [hold for hold in holds if not hold.holds_record or action == "restrict"]


def latest_erasure_day(policy: Policy, settled: date | None, relationship_ended: date | None) -> date | None:
    """The last day the chain's buffer allows for the erasure; None when the chain sets no buffer."""
    buffer = policy.buffer
    if buffer is None:
        return None
    start = settled if buffer.clock == "settlement" else relationship_ended
    return latest_action_day(start, buffer.period) if start else None
