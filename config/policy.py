"""A chain's privacy policy as slett applies it: processors, actions, retention rules, buffer, purges."""

from __future__ import annotations

import enum
import functools
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.dates import MonthDay, Period
from config.yaml_lines import LinedYaml, load_lined
from config.yaml_lines import Path as DataPath

Role = Literal["membership", "booking", "marketing", "payment", "journal", "invoicing", "manual", "access", "app"]
ActionName = Literal["delete", "anonymise", "restrict", "notify"]
# What happens to one category of a member's data at erasure: erased (deleted, or anonymised where the record
# must stay for statistics), held restricted under a rule, or, for a journal, held for a clinician's review.
CategoryAction = Literal["delete", "anonymise", "restrict", "review"]
# The words chains use for a patient journal: slett restricts it and schedules a review, never more.
JOURNAL_CATEGORIES = frozenset({"journal", "journal notes", "physiotherapy journal"})
# What a retention period counts from; each is a date the processor reports in its holdings.
Clock = Literal["financial_year_end", "contract_year_end", "last_journal_entry", "claim_due", "purchase",
                "recording", "exclusion_end", "payment"]
# Clocks counted from the end of the financial year that holds the record's date (an entry, a contract's end).
FINANCIAL_YEAR_CLOCKS = frozenset({"financial_year_end", "contract_year_end"})
BufferClock = Literal["settlement", "relationship_end"]
PurgeKind = Literal["guests", "course_participants"]
# Processors with no API, the one list: a person acts there, so the policy names the real supplier and how long
# the person may take before the step is escalated, and their connectors are given no address or credential.
OFFLINE = frozenset({"manual", "credicare"})


class Basis(enum.StrEnum):
    """The legal bases slett knows for keeping something back."""

    BOOKKEEPING = "bokforingsloven-13"
    BOOKKEEPING_SECONDARY = "bokforingsloven-13-secondary"
    LEGAL_CLAIM = "gdpr-17-3-e"
    JOURNAL = "pasientjournalloven-25"
    LEGITIMATE_INTEREST = "gdpr-6-1-f"
    WITHDRAWAL = "angrerettloven"

    @property
    def citation(self) -> str:
        """The law in words a DPO and a member can read."""
        return BASIS_TEXT[self]


BASIS_TEXT = {
    Basis.BOOKKEEPING: "bokføringsloven §13 (primary documentation, 5 years); GDPR Art. 17(3)(b)",
    Basis.BOOKKEEPING_SECONDARY: "bokføringsloven §13 (secondary documentation such as contracts, at least "
    "3.5 years); GDPR Art. 17(3)(b)",
    Basis.LEGAL_CLAIM: "GDPR Art. 17(3)(e); foreldelsesloven §§ 2-3",
    Basis.JOURNAL: "helsepersonelloven §§ 39-40; pasientjournalloven § 25; journalforskriften § 14",
    Basis.LEGITIMATE_INTEREST: "GDPR Art. 6(1)(f) and 17(1)(c): the chain's stated legitimate interest, "
    "for the period its policy gives",
    Basis.WITHDRAWAL: "angrerettloven (14-day right of withdrawal); GDPR Art. 6(1)(b)",
}


# The least a rule under each bookkeeping basis may keep, from the end of the financial year (bokføringsloven § 13:
# primary documentation five years, secondary such as contracts three and a half); a chain's YAML states its own.
LEGAL_MINIMUM = {Basis.BOOKKEEPING: Period(years=5), Basis.BOOKKEEPING_SECONDARY: Period(years=3, months=6)}


def _period(value: object) -> Period:
    return value if isinstance(value, Period) else Period.parse(str(value))


class RetentionRule(BaseModel):
    """One reason to keep something back, for how long, counted from what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    categories: tuple[str, ...]
    basis: Basis
    period: Period
    clock: Clock
    review_only: bool = Field(False, description="at expiry a person reviews; never deleted by slett")
    holds_record: bool = Field(False, description="the whole record stays, restricted; at expiry the "
                               "processor's own action is carried out")
    until_settled: bool = Field(False, description="kept while anything is owed, whatever the date")
    recheck: Period | None = Field(None, description="with until_settled: when to look again if still owed")
    ends_when_settled: bool = Field(False, description="the hold ends once nothing is owed, before its date")
    check_every: Period | None = Field(None, description="with ends_when_settled: how often to look whether "
                                       "it was settled")
    citation: str = Field(min_length=3, description="the seed sentence or law this rule comes from")

    @field_validator("period", "recheck", "check_every", mode="before")
    @classmethod
    def _parse_periods(cls, value: object) -> Period | None:
        return None if value is None else _period(value)

    @model_validator(mode="after")
    def _recheck_with_settlement(self) -> RetentionRule:
        if self.until_settled and self.recheck is None:
            raise ValueError("until_settled needs recheck: when to look again if the amount is still owed")
        if self.ends_when_settled and self.check_every is None:
            raise ValueError("ends_when_settled needs check_every: how often to look whether it was settled")
        least = LEGAL_MINIMUM.get(self.basis)
        if least is not None and (self.clock not in FINANCIAL_YEAR_CLOCKS or _shorter(self.period, least)):
            raise ValueError(f"{self.basis.value} keeps at least {least} from the end of the financial year "
                             f"(got {self.period} from {self.clock})")
        return self


def _shorter(period: Period, least: Period) -> bool:
    """Whether `period` is shorter than `least` (both in whole months and days)."""
    return (12 * period.years + period.months, period.days) < (12 * least.years + least.months, least.days)


class CategoryRule(BaseModel):
    """One category of data a processor holds: what happens to it at erasure, and what a hold keeps of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1)
    action: CategoryAction
    rule: str | None = Field(None, description="the retention rule that holds it; none: erased at once")
    keeps: tuple[str, ...] = Field((), description="the fields a hold keeps, restricted; every other goes")
    marketing: bool = Field(False, description="a marketing consent or channel: stopped in the first step")

    @model_validator(mode="after")
    def _lawful(self) -> CategoryRule:
        if self.category in JOURNAL_CATEGORIES and self.action != "review":
            raise ValueError(f"a journal is never {_done(self.action)} by slett (helsepersonelloven §§ 39-40; "
                             "§ 43 sets the only conditions): restrict it for a clinician's review (action: review)")
        if self.rule and self.action == "anonymise":
            raise ValueError(f"held under rule {self.rule!r} and anonymised: a held category keeps its fields, "
                             "restricted (GDPR Art. 18); anonymising would strip what the rule keeps")
        if self.rule and self.action == "delete":
            raise ValueError(f"held under rule {self.rule!r} but deleted at erasure: plan restrict (or review)")
        if self.rule and not self.keeps:
            raise ValueError(f"held under rule {self.rule!r}: list the fields the hold keeps (keeps: [...])")
        if not self.rule and self.action in ("restrict", "review"):
            raise ValueError(f"{self.action} with no rule: a category no rule holds is erased at the erasure "
                             "step (delete or anonymise), or name the rule that holds it")
        if not self.rule and self.keeps:
            raise ValueError("keeps fields but no rule holds them: name the rule, or drop keeps")
        return self

    @property
    def held(self) -> bool:
        """Whether a retention rule keeps part of this category after the erasure step."""
        return self.rule is not None


def _done(action: str) -> str:
    return {"delete": "deleted", "anonymise": "anonymised or de-identified"}.get(action, action)


class ProcessorRule(BaseModel):
    """One processor of the chain: its role and what slett does there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    role: Role
    action: ActionName
    holds: tuple[str, ...] = ()
    supplier: str | None = Field(None, description="the real supplier, for a processor slett reaches by a person")
    operated_by: str | None = Field(None, description="the processor that runs this system for the chain, when "
                                    "it is not the chain itself (K24's newsletter: Magy Media AS at Mailchimp)")
    dates_from: Literal["membership"] | None = Field(
        None, description="a processor with no API whose records are copies of the membership system's (Credicare "
        "invoices for the chain): its holds count from the membership system's dates")
    confirm_within: Period | None = Field(None, description="how long a person may take before escalation")
    when: Literal["always", "in_collection"] = "always"
    assumption: bool = Field(False, description="the seed names no system for this role; we chose one")
    reason: str | None = None
    data: tuple[CategoryRule, ...] = Field((), description="the data map: each category held and its fate")

    @model_validator(mode="before")
    @classmethod
    def _holds_from_data(cls, values: Any) -> Any:
        # With a data map, the rules a processor holds under are those its categories name.
        if isinstance(values, dict) and values.get("data") and "holds" not in values:
            named = [c.get("rule") for c in values["data"] if isinstance(c, dict)]
            return {**values, "holds": list(dict.fromkeys(r for r in named if r))}
        return values

    @field_validator("confirm_within", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> Period | None:
        return None if value is None else _period(value)

    @model_validator(mode="after")
    def _complete(self) -> ProcessorRule:
        if self.system in OFFLINE and not self.supplier:
            raise ValueError(f"supplier is required: {self.system} has no API, so name who a person contacts")
        if self.system in OFFLINE and self.confirm_within is None:
            raise ValueError("confirm_within is required: how long a person may take before escalation")
        if self.dates_from and self.system not in OFFLINE:
            raise ValueError("dates_from is for a processor with no API: one with an API reports its own dates")
        if self.assumption and not self.reason:
            raise ValueError("an assumption needs a reason")
        if self.role == "journal" and self.action != "restrict":
            raise ValueError(f"a journal system is restricted for a clinician's review, never {_done(self.action)}")
        return self

    def category(self, name: str) -> CategoryRule | None:
        """The data map's entry for a category this processor reports; None when the map does not know it."""
        return next((c for c in self.data if c.category == name), None)

    def unknown(self, categories: frozenset[str]) -> list[str]:
        """Categories a lookup reported that the data map does not name (none when there is no map)."""
        return sorted(categories - {c.category for c in self.data}) if self.data else []

    @property
    def key(self) -> str:
        """The step's name in a request: the system, with the supplier for processors without an API."""
        slug = re.sub(r"[^a-z0-9]+", "-", (self.supplier or "").lower()).strip("-")
        return self.system if not slug or slug.startswith(self.system) else f"{self.system}-{slug}"


class Buffer(BaseModel):
    """The latest day a chain promises to have erased a member by, counted from an event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Period
    clock: BufferClock
    citation: str = Field(min_length=3)

    @field_validator("period", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> Period:
        return _period(value)


class PurgeRule(BaseModel):
    """A rolling purge: people with no agreement, deleted in bulk once `period` has passed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: PurgeKind
    systems: tuple[str, ...] = Field(min_length=1)
    period: Period
    citation: str = Field(min_length=3)
    erase_at: tuple[str, ...] = Field((), description="processors that cannot list the people past the limit but "
                                      "hold their data: each person found by the listing is erased there by an "
                                      "erase-member run of their own (kind course_over), with its holds and evidence")

    @field_validator("period", mode="before")
    @classmethod
    def _parse_period(cls, value: object) -> Period:
        return _period(value)


class WhileMember(BaseModel):
    """What a chain does with an erasure request while the member's membership still runs: what goes now, and why
    the rest is kept until the membership ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    erases_now: Literal["marketing"] = Field("marketing", description="what goes at once: marketing consents and "
                                             "channels (GDPR Art. 7(3), 21(3))")
    law: str = Field(min_length=3, description="why the rest is kept (GDPR Art. 17(1)(a)-(b), 6(1)(b))")
    citation: str = Field(min_length=3, description="the seed sentence this comes from")
    assumption: bool = Field(False, description="the seed says nothing on it; we chose this")
    reason: str | None = None

    @model_validator(mode="after")
    def _reasoned(self) -> WhileMember:
        if self.assumption and not self.reason:
            raise ValueError("an assumption needs a reason")
        return self


class Policy(BaseModel):
    """A controller's erasure policy, loaded from config/controllers/<controller>.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    controller: str
    name: str
    financial_year_end: MonthDay = MonthDay(12, 31)
    processors: tuple[ProcessorRule, ...]
    retention: tuple[RetentionRule, ...] = ()
    buffer: Buffer | None = None
    purges: tuple[PurgeRule, ...] = ()
    while_member: WhileMember | None = Field(None, description="an erasure request while the membership runs")
    answer_within_working_days: int | None = Field(
        None, ge=1, description="the chain's own promise to answer a request, in working days; "
        "the deadline is the earlier of this and GDPR's one month")

    @field_validator("financial_year_end", mode="before")
    @classmethod
    def _parse_year_end(cls, value: object) -> MonthDay:
        return value if isinstance(value, MonthDay) else MonthDay.parse(str(value))

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Policy:
        # load_policy reports these itself, each with its line; built any other way, fail here.
        if not (info.context or {}).get("lines") and (found := self.problems()):
            raise ValueError("; ".join(message for _, message in found))
        return self

    def problems(self) -> list[tuple[DataPath, str]]:
        """What does not fit together in this policy, each with the path of the value at fault."""
        found: list[tuple[DataPath, str]] = []
        rules = {rule.name: rule for rule in self.retention}
        systems = {p.system for p in self.processors}
        keys: set[str] = set()
        for i, processor in enumerate(self.processors):
            if processor.key in keys:
                found.append((("processors", i), "listed twice (give each a different supplier)"))
            keys.add(processor.key)
            named = [c.rule for c in processor.data if c.rule]
            if processor.data and set(processor.holds) != set(named):
                found.append((("processors", i, "holds"), f"holds {sorted(processor.holds)} but its data map "
                              f"holds under {sorted(set(named))}: let the data map say it"))
            for j, category in enumerate(processor.data):
                where = ("processors", i, "data", j)
                if category.rule is None:
                    continue
                if category.rule not in rules:
                    found.append(((*where, "rule"), f"held under unknown rule {category.rule!r}"))
                elif rules[category.rule].review_only != (category.action == "review"):
                    found.append(((*where, "action"), f"rule {category.rule!r} is "
                                  f"{'' if rules[category.rule].review_only else 'not '}review-only: plan "
                                  f"{'review' if rules[category.rule].review_only else 'restrict'}"))
                elif rules[category.rule].basis is Basis.JOURNAL and category.action != "review":
                    found.append(((*where, "action"), "a journal rule's category is reviewed, never erased"))
                if named.count(category.rule) > 1:
                    found.append(((*where, "rule"), f"rule {category.rule!r} holds two categories here; a "
                                  "hold is one category with its own date: give each its own rule"))
            for j, hold in enumerate(processor.holds):
                if hold not in rules:
                    found.append((("processors", i, "holds", j),
                                  f"holds unknown rule {hold!r}"))
                elif rules[hold].clock == "claim_due" and processor.role != "membership":
                    found.append((("processors", i, "holds", j),
                                  f"only the membership system holds a claim (rule {hold!r})"))
        if [p.role for p in self.processors].count("membership") != 1:
            found.append((("processors",), "exactly one processor must have role 'membership'"))
        for i, purge in enumerate(self.purges):
            for j, system in enumerate(purge.systems):
                if system not in systems:
                    found.append((("purges", i, "systems", j),
                                  f"{system!r} is not a processor of the chain"))
            for j, system in enumerate(purge.erase_at):
                if system not in systems:
                    found.append((("purges", i, "erase_at", j), f"{system!r} is not a processor of the chain"))
        return found

    @property
    def membership(self) -> str:
        """The membership system: where contact details are looked up, and erased last."""
        return next(p.system for p in self.processors if p.role == "membership")

    def rule(self, name: str) -> RetentionRule:
        """The retention rule called `name`."""
        return next(rule for rule in self.retention if rule.name == name)

    def processor(self, key: str) -> ProcessorRule:
        """The processor whose step is called `key` (its system, or system-supplier)."""
        return next(p for p in self.processors if p.key == key)

    def course_over(self) -> frozenset[str]:
        """The processors a course's end erases a participant at, besides the purge's bulk deletion."""
        return frozenset(system for purge in self.purges if purge.kind == "course_participants"
                         for system in purge.erase_at)

    def marketing(self) -> tuple[ProcessorRule, ...]:
        """Processors whose data goes at once, without waiting for settlement."""
        return tuple(p for p in self.processors if p.role == "marketing")

    def first_step(self) -> tuple[ProcessorRule, ...]:
        """Processors holding a marketing consent or channel outside the marketing systems: stopped at once too."""
        return tuple(p for p in self.processors if p.role != "marketing" and any(c.marketing for c in p.data))

    def erasure_order(self, in_collection: bool = False) -> tuple[ProcessorRule, ...]:
        """Processors erased after settlement, the membership system last; some only for a claim in collection."""
        rest = [p for p in self.processors if p.role not in ("marketing", "membership")
                and (p.when == "always" or in_collection)]
        return (*rest, *(p for p in self.processors if p.role == "membership"))

    def waits_for_settlement(self, open_invoices: int, in_collection: bool) -> bool:
        """Whether an erasure must wait: something is owed, and not as a claim this chain holds instead."""
        if in_collection and self.claim_rule is not None:
            return False
        return open_invoices > 0 or in_collection

    @property
    def claim_rule(self) -> RetentionRule | None:
        """The rule that keeps a claim in collection at the membership system, if the chain has one."""
        membership = next(p for p in self.processors if p.role == "membership")
        return next((self.rule(h) for h in membership.holds if self.rule(h).clock == "claim_due"), None)


class UnknownCategory(Exception):
    """A processor holds a category of data the chain's data map does not name: the request stops here."""


def check_categories(policy: Policy, key: str, found: frozenset[str]) -> None:
    """Raise UnknownCategory when a processor reports data its data map does not say what to do with."""
    if unknown := policy.processor(key).unknown(found):
        raise UnknownCategory(
            f"{policy.controller}: {key} holds {unknown}, which the chain's data map does not name; nothing "
            f"was erased there. Add each to config/controllers/{policy.controller}.yaml under {key}'s data "
            "(action, and the rule and fields if one holds it), then run the request again")


class PolicyError(Exception):
    """A policy file is wrong; the message names the file, the line and what to fix."""


def load_policy(controller: str, directory: Path, known_systems: frozenset[str] | None = None) -> Policy:
    """Load and check config/controllers/<controller>.yaml."""
    path = directory / f"{controller}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.yaml"))
        raise PolicyError(f"{path}: no policy for controller {controller!r} (available: {available})")
    return _checked(controller, path, path.read_text(encoding="utf-8"), known_systems)


# A flow run reads its chain's file at several steps, each resumption again: the same text is parsed and checked
# once per process (about 10 ms each time), a changed file again. A policy is frozen, so sharing it is safe.
@functools.lru_cache(maxsize=64)
def _checked(controller: str, path: Path, text: str, known_systems: frozenset[str] | None) -> Policy:
    """The policy a file's text describes, checked."""
    try:
        lined = load_lined(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    try:
        policy = Policy.model_validate(lined.data, context={"lines": True})
    except ValidationError as exc:
        raise PolicyError("; ".join(_where(path, lined, tuple(e["loc"]), e["msg"]) for e in exc.errors())) from None
    found = policy.problems()
    for i, processor in enumerate(policy.processors):
        if known_systems is not None and processor.system not in known_systems:
            found.append((("processors", i, "system"),
                          f"unknown processor {processor.system!r}; known: {sorted(known_systems)}"))
    if policy.controller != controller:
        found.append((("controller",), f"controller is {policy.controller!r}, expected {controller!r}"))
    if found:
        raise PolicyError("; ".join(_where(path, lined, where, message) for where, message in found))
    return policy


def _where(path: Path, lined: LinedYaml, loc: DataPath, message: str) -> str:
    """One problem as 'file, line N, rule 'name', field: message'."""
    line = lined.line_of(loc)
    parts = [f"{path}, line {line}" if line else str(path)]
    label, rest = _label(lined.data, loc)
    if label:
        parts.append(label)
    text = message.removeprefix("Value error, ")
    return ", ".join(parts) + (f", {'.'.join(str(p) for p in rest)}: " if rest else ": ") + text


def _label(data: Any, loc: DataPath) -> tuple[str, DataPath]:
    """The rule or processor a location is in ("rule 'bookkeeping'"), and the rest of the location."""
    names = {"retention": ("rule", "name"), "processors": ("processor", "system"), "purges": ("purge", "name")}
    if len(loc) >= 2 and loc[0] in names and isinstance(loc[1], int) and isinstance(data, dict):
        kind, field = names[str(loc[0])]
        items = data.get(str(loc[0]))
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        if isinstance(item, dict) and item.get(field):
            supplier = f" ({item['supplier']})" if item.get("supplier") else ""
            label, rest = f"{kind} {item[field]!r}{supplier}", loc[2:]
            entries = item.get("data")
            if len(rest) >= 2 and rest[0] == "data" and isinstance(rest[1], int) and isinstance(entries, list) \
                    and rest[1] < len(entries) and isinstance(entries[rest[1]], dict):
                label, rest = f"{label}, category {entries[rest[1]].get('category')!r}", rest[2:]
            return label, rest
    if loc and loc[0] == "buffer":
        return "buffer", loc[1:]
    return "", loc
