"""A processor's erasure per category as the data map plans it: what it holds, each category's action and kept
fields, legal holds and marketing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

from config.legal_holds import RULE, LegalHold, lasting
from config.policy import CategoryRule, Policy
from connectors.contract import Action, CategoryErasure, Holdings

ACTIONS = {"delete": Action.DELETE, "anonymise": Action.ANONYMISE, "restrict": Action.RESTRICT,
           "review": Action.RESTRICT}


def erasure_of(rule: CategoryRule) -> CategoryErasure:
    """One data map entry as the connector contract's erasure of that category."""
    return CategoryErasure(rule.category, ACTIONS[rule.action], rule.keeps, rule.rule, rule.action == "review")


def erasures_for(policy: Policy, key: str, holdings: Holdings,
                 ended: frozenset[str] = frozenset()) -> tuple[CategoryErasure, ...]:
    """The categories the processor reported, as its data map plans them: held ones first, the profile last
    (other processors look the member up by it). A category held whole under a rule in `ended` (a withdrawal
    period over) gets the processor's own action, as its hold's release would."""
    processor = policy.processor(key)
    found = [c if c.rule not in ended else CategoryRule(category=c.category, action=_erased(processor.action))
             for c in processor.data if c.category in holdings.categories]
    order = sorted(found, key=lambda c: (not c.held, c.category == "profile"))
    return tuple(erasure_of(c) for c in order)


def _erased(action: str) -> Literal["delete", "anonymise"]:
    return "anonymise" if action == "anonymise" else "delete"


def under_legal_holds(erasures: tuple[CategoryErasure, ...], system: str, legal: list[LegalHold], day: date,
                      taken_with: Mapping[str, tuple[str, ...]] | None = None) -> tuple[CategoryErasure, ...]:
    """The erasures, with each category the data map erases at once but a legal hold keeps restricted as it is,
    and kept with it each category whose deletion would take a kept one along (a customer and their bookings)."""
    kept = {e.category for e in erasures if e.rule is None and lasting(legal, system, [e.category], day)}
    while more := {e.category for e in erasures if e.rule is None and e.action is Action.DELETE
                   and e.category not in kept and kept & set((taken_with or {}).get(e.category, ()))}:
        kept |= more
    return tuple(CategoryErasure(e.category, Action.RESTRICT, (), RULE, review=True) if e.category in kept else e
                 for e in erasures)


def marketing_of(policy: Policy, key: str, holdings: Holdings) -> tuple[CategoryErasure, ...]:
    """The marketing consents or channels a processor holds, stopped in the first step."""
    return tuple(erasure_of(c) for c in policy.processor(key).data
                 if c.marketing and c.category in holdings.categories)
