"""A processor's erasure per category carried out against its connector and read back: in stages at once where
its categories are separate resources, else one after the other."""

from __future__ import annotations

from itertools import groupby
from typing import Protocol

from config.legal_holds import RULE
from connectors.actions import CATEGORY_STATUS, together
from connectors.contract import (
    Action,
    CategoryConnector,
    CategoryErasure,
    CategoryResult,
    Connector,
    Holdings,
    Outcome,
    Status,
)


# A protocol, not domain.values.SystemPlan: domain imports connectors.contract, so connectors import no domain.
# Its members are read-only, as a frozen SystemPlan's are.
class CategoryPlan(Protocol):
    """The part of a processor's plan that carrying it out reads; a SystemPlan has it."""

    @property
    def system(self) -> str: ...

    @property
    def action(self) -> Action: ...

    @property
    def holdings(self) -> Holdings: ...

    @property
    def erasures(self) -> tuple[CategoryErasure, ...]: ...


def by_category(connector: Connector) -> CategoryConnector | None:
    """The connector as one that erases by category, if it does."""
    return connector if hasattr(connector, "erase_category") else None  # type: ignore[return-value]


def as_block(plan: CategoryPlan, status: Status, verified: bool) -> tuple[CategoryResult, ...]:
    """Per category, for a processor erased as a block: held categories kept under their rule, the rest as the
    block ended; the block's read-back stands for each."""
    return tuple(CategoryResult(e.category, "review" if e.review else e.action.value,
                                "held" if e.rule else status.value, verified, e.keeps, e.rule)
                 for e in plan.erasures)


def result(erasure: CategoryErasure, outcome: Outcome) -> CategoryResult:
    """A category's evidence row from its outcome."""
    action = "review" if erasure.review and erasure.rule != RULE else erasure.action.value
    return CategoryResult(erasure.category, action, outcome.status.value, outcome.verified, erasure.keeps,
                          erasure.rule, outcome.detail)


def at_once(connector: CategoryConnector) -> bool:
    """Whether the connector's categories are separate resources at the processor, so that their calls may go
    together: two calls to one resource at once would meet a throttle's Retry-After meant for the other."""
    return bool(getattr(connector, "categories_at_once", False))


def stages(erasures: tuple[CategoryErasure, ...]) -> list[tuple[CategoryErasure, ...]]:
    """The erasures as stages carried out one after the other, in the data map's order (held ones first, the
    profile last: other processors look the member up by it); the categories of one stage at once."""
    return [tuple(stage) for _, stage in groupby(erasures, key=lambda e: (e.rule is None, e.category == "profile"))]


async def erase_categories(connector: CategoryConnector, plan: CategoryPlan, key: str) -> Outcome:
    """Erase each planned category (each call idempotent by its own key), in stages where the processor's
    categories are resources of their own, else one after the other; one outcome for the processor: a person's
    step (MANUAL, its words first) while any category is one no call can erase."""
    results: list[CategoryResult] = []
    for stage in stages(plan.erasures) if at_once(connector) else [(e,) for e in plan.erasures]:
        outcomes = await together(*(connector.erase_category(plan.holdings, e, f"{key}:{e.category}")
                                    for e in stage))
        results += map(result, stage, outcomes)
    changed = any(r.status != Status.ALREADY_ABSENT for r in results)
    status = CATEGORY_STATUS.get(plan.action, Status.ERASED) if changed else Status.ALREADY_ABSENT
    by_person = [r.detail for r in results if r.status == Status.MANUAL]
    return Outcome(plan.system, Status.MANUAL if by_person else status, plan.action,
                   count=sum(r.status != Status.ALREADY_ABSENT for r in results),
                   detail="; ".join([*by_person, summary(results)]), categories=tuple(results))


async def verify_categories(connector: CategoryConnector, plan: CategoryPlan, outcome: Outcome) -> Outcome:
    """Read every planned category back; verified only when each is as its erasure left it. A category no call
    reads back (verified None) rests on the person's confirmation of the step."""
    if at_once(connector):
        checks = await together(*(connector.verify_category(plan.holdings, e) for e in plan.erasures))
    else:
        checks = [await connector.verify_category(plan.holdings, e) for e in plan.erasures]
    confirmed = outcome.status is Status.CONFIRMED
    results = tuple(CategoryResult(r.category, r.action,
                                   Status.CONFIRMED.value if confirmed and r.status == Status.MANUAL else r.status,
                                   confirmed if check.verified is None else check.verified, r.fields, r.rule,
                                   check.detail or r.detail)
                    for r, check in zip(outcome.categories or [result(e, outcome) for e in plan.erasures], checks,
                                        strict=True))
    wrong = [c.detail for c, r in zip(checks, results, strict=True) if not r.verified]
    return outcome.with_(verified=not wrong, categories=results,
                         detail="; ".join(wrong) if wrong else outcome.detail)


def summary(results: list[CategoryResult]) -> str:
    """What happened per category, in words for the evidence (never values)."""
    return "; ".join(r.words() for r in results)
