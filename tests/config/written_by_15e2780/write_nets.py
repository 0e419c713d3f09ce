"""Pickle what the code at 15e2780 (before Nets was remodelled) wrote for Nets: a cached plan, an accepted job."""
import asyncio
import pickle
import sys
from pathlib import Path

from config.holds import Clocks, Hold, holds_for
from config.policy import Policy, load_policy
from config.settings import load_settings
from connectors.contract import Action, Holdings, Subject
from connectors.http import use_transports
from connectors.registry import connect, known_systems
from domain.values import SystemPlan
from sandbox.world import Sandbox


async def main(out: Path) -> None:
    world = Sandbox()
    settings = load_settings(subject_key="x" * 32, processors={
        "nets": {"base_url": "http://nets.sandbox", "api_key": "test"}})
    policy = load_policy("demo", settings.controllers_dir, known_systems())
    with use_transports(world.transports()):
        async with connect("nets", settings) as (nets, _):
            holdings = await nets.lookup(Subject("demo", "M1001"))
            outcome = await nets.erase(holdings, Action.DELETE, "slett:old-request:nets:delete")
    plan = SystemPlan("nets", "payment", Action.DELETE, holdings, None, "nets")
    hold = next(h for h in holdings_holds(policy, holdings) if h.rule == "bookkeeping")
    out.write_bytes(pickle.dumps({"holdings": holdings, "plan": plan, "accepted": outcome, "hold": hold}))

def holdings_holds(policy: Policy, holdings: Holdings) -> list[Hold]:
    """The holds the old code planned for Nets' records."""
    return holds_for(policy, "nets", Clocks(bookkeeping_entries=holdings.facts.transaction_dates))

asyncio.run(main(Path(sys.argv[1])))
