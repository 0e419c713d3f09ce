"""What the law keeps back after an erasure, and until when: pure functions of policy and facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from config.dates import MonthDay, after_financial_year, latest_action_day
from config.policy import FINANCIAL_YEAR_CLOCKS, ActionName, Policy, RetentionRule


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
    # The newest record date this hold covers: its release deletes the rule's records dated up to it and
    # keeps the newer ones for their own dates. None when the whole record is held (a journal, a claim).
    records_through: date | None = None
    # The one category of the processor's data map this hold keeps, and exactly the fields it keeps of it.
    # Empty for a hold written before data maps (it covers its rule's categories, as then).
    category: str = ""
    fields: tuple[str, ...] = ()
    # A hold that ends once nothing is owed (a claim): the day to look whether it was paid, before retain_until.
    check_on: date | None = None
    # A legal hold a person set keeps the records past their own date: the sweep takes them on neither day before
    # this one (config/legal_holds.py).
    legal_until: date | None = None

    @property
    def release_day(self) -> date:
        """The day the sweep takes the hold: its check day or its last day, not before a legal hold's end."""
        day = min(self.check_on, self.retain_until) if self.check_on else self.retain_until
        return max(day, self.legal_until) if self.legal_until else day

    @property
    def review_day(self) -> date | None:
        """The day a clinician reviews what a review-only hold keeps (a journal): the day the daily sweep takes it,
        which the member's letter states; None for a hold that is released."""
        return self.release_day if self.review_only else None

    @property
    def key(self) -> str:
        """The processor and rule this hold is under; a rule's records may be held until several dates."""
        return f"{self.system}-{self.rule}"


@dataclass(frozen=True)
class Clocks:
    """The dates at a processor that retention periods count from: each record's own, or the whole record's."""

    bookkeeping_entries: tuple[date, ...] = ()
    contract_ends: tuple[date, ...] = ()
    purchases: tuple[date, ...] = ()
    recordings: tuple[date, ...] = ()
    exclusion_ends: tuple[date, ...] = ()
    last_journal_entry: date | None = None
    claim_due: date | None = None
    last_payment: date | None = None

    def records(self, rule: RetentionRule) -> tuple[date, ...] | None:
        """The dates of the records a rule counts from each on its own; None when it holds a whole record."""
        dated = {"financial_year_end": self.bookkeeping_entries, "contract_year_end": self.contract_ends,
                 "purchase": self.purchases, "recording": self.recordings, "exclusion_end": self.exclusion_ends}
        return dated.get(rule.clock)

    def whole_record(self, rule: RetentionRule) -> date | None:
        """The one date a rule that holds a whole record counts from (a journal's last entry, a claim's due)."""
        starts = {"last_journal_entry": self.last_journal_entry, "claim_due": self.claim_due,
                  "payment": self.last_payment}
        return starts.get(rule.clock)


def last_day(rule: RetentionRule, start: date, year_end: MonthDay) -> date:
    """The last day a record is kept under `rule`, its clock started by `start` (the record's date)."""
    if rule.clock in FINANCIAL_YEAR_CLOCKS:
        return after_financial_year(start, rule.period, year_end)
    # A journal's last day is its review day (pasientjournalloven § 25, helsepersonelloven §§ 39-40): a clinician
    # decides then, and nothing is deleted by date.
    return rule.period.after(start)


def holds_for(policy: Policy, key: str, clocks: Clocks, as_of: date | None = None) -> list[Hold]:
    """The holds a processor's records fall under: per rule, one for each day some of them may go, oldest first.

    With `as_of`, a hold that ends at settlement is given the day to look again whether it has been.
    """
    processor = policy.processor(key)
    holds = []
    for name in processor.holds:
        rule = policy.rule(name)
        kept = next((c for c in processor.data if c.rule == name), None)
        found = _rule_holds(processor.system, rule, clocks, policy.financial_year_end,
                            (kept.category, kept.keeps) if kept else None)
        holds += [checked(hold, rule, as_of) for hold in found] if as_of else found
    return holds


def checked(hold: Hold, rule: RetentionRule, as_of: date) -> Hold:
    """The hold with its next check day, if its rule ends it at settlement."""
    if not (rule.ends_when_settled and rule.check_every):
        return hold
    return replace(hold, check_on=rule.check_every.after(as_of))


def ended_by_settlement(hold: Hold, policy: Policy, still_owed: bool) -> bool:
    """Whether a hold has ended early because what it kept a claim for has been paid."""
    return policy.rule(hold.rule).ends_when_settled and not still_owed


def _rule_holds(system: str, rule: RetentionRule, clocks: Clocks, year_end: MonthDay,
                kept: tuple[str, tuple[str, ...]] | None = None) -> list[Hold]:
    """A rule's holds: records grouped by their last day (a financial year's invoices go together)."""
    def hold(until: date, through: date | None) -> Hold:
        category, fields = kept or ("", ())
        return Hold(system, rule.name, (category,) if category else rule.categories, rule.basis.value,
                    rule.basis.citation, until, rule.review_only, rule.until_settled, rule.holds_record, through,
                    category, fields)

    dates = clocks.records(rule)
    if dates is None:
        start = clocks.whole_record(rule)
        return [] if start is None else [hold(last_day(rule, start, year_end), None)]
    groups: dict[date, date] = {}
    for day in dates:
        until = last_day(rule, day, year_end)
        groups[until] = max(groups.get(until, day), day)
    return [hold(until, through) for until, through in sorted(groups.items())]


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


class RetentionDates(Protocol):
    """The dates and flags a processor reports for retention (connectors.contract.RetentionFacts)."""

    @property
    def invoice_dates(self) -> tuple[date, ...]: ...
    @property
    def transaction_dates(self) -> tuple[date, ...]: ...
    @property
    def contract_end_dates(self) -> tuple[date, ...]: ...
    @property
    def purchase_dates(self) -> tuple[date, ...]: ...
    @property
    def recording_dates(self) -> tuple[date, ...]: ...
    @property
    def exclusion_end_dates(self) -> tuple[date, ...]: ...
    @property
    def last_journal_entry(self) -> date | None: ...
    @property
    def claim_due(self) -> date | None: ...
    @property
    def last_payment_date(self) -> date | None: ...


def clocks_of(facts: RetentionDates) -> Clocks:
    """The dates a processor reported, as the clocks retention rules count from: each record's own."""
    return Clocks(bookkeeping_entries=tuple(sorted({*facts.invoice_dates, *facts.transaction_dates})),
                  contract_ends=facts.contract_end_dates, purchases=facts.purchase_dates,
                  recordings=facts.recording_dates, exclusion_ends=facts.exclusion_end_dates,
                  last_journal_entry=facts.last_journal_entry, claim_due=facts.claim_due,
                  last_payment=facts.last_payment_date)


def membership_runs_until(contract_ends: tuple[date, ...], today: date) -> date | None:
    """The day the member's membership ends, if a contract still runs after today; None once every one has ended."""
    last = max(contract_ends, default=None)
    return last if last is not None and last > today else None
