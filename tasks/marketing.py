"""The first step outside the marketing systems: marketing consents withdrawn where the member's record lives."""

from __future__ import annotations

from dataclasses import replace

from prefect import task

from config.settings import Settings
from connectors.categories import by_category, erase_categories, verify_categories
from connectors.contract import Action, CategoryResult, ConsentKeeper, Outcome, Status
from connectors.registry import connect
from domain.values import Request, Step, SystemPlan
from tasks.erasure import request_key
from tasks.retry import not_connector_error


@task(name="stop-marketing", cache_key_fn=request_key("stop-marketing", "plan"), persist_result=True,
      retries=1, retry_condition_fn=not_connector_error)
async def stop_marketing(request: Request, plan: SystemPlan, settings: Settings) -> Step:
    """Withdraw the marketing consents (or delete the channels) a processor outside marketing holds, and read it
    back: the first step, before any wait (markedsføringsloven § 15, GDPR Art. 21(3))."""
    stops = [e for e in plan.erasures if e.category in plan.holdings.categories]
    key = f"slett:{request.request_id}:{plan.step}:stop-marketing"
    async with connect(plan.system, settings) as (connector, client):
        if hasattr(connector, "withdraw_consents"):
            keeper: ConsentKeeper = connector  # type: ignore[assignment]
            done = await keeper.withdraw_consents(request.member_id, key)
            check = await keeper.verify_withdrawn(request.member_id)
            results = tuple(CategoryResult(e.category, "withdraw", done.status.value, check.verified)
                            for e in stops)
            outcome = done.with_(verified=check.verified, categories=results,
                                 detail=check.detail or "marketing consents withdrawn")
        elif categorised := by_category(connector):
            marketing = replace(plan, erasures=tuple(stops), action=Action.DELETE)
            outcome = await verify_categories(categorised, marketing, await erase_categories(categorised, marketing,
                                                                                              key))
        else:
            outcome = Outcome(plan.system, Status.FAILED, Action.DELETE, verified=False,
                              detail=f"{plan.system} cannot stop marketing by category; a person must")
    return Step(f"{plan.step}-marketing", "marketing", "withdraw", outcome.status.value, outcome.verified,
                client.attempts, None, outcome.detail, categories=outcome.categories)
