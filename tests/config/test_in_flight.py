"""Work in flight when slett learnt data maps: results and holds the previous code wrote still load and release.

The files in written_by_0_1/ were pickled by the code before data maps (commit d3b4df0), as Prefect's result
store holds them for a suspended run's cached steps and a scheduled release's evidence.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

from config.holds import Clocks, holds_for
from config.policy import load_policy
from config.settings import load_settings
from connectors.contract import Action, Status
from connectors.http import use_transports
from connectors.nets import NetsConnector
from connectors.registry import connect
from evidence.letter import render_letter
from sandbox.world import Sandbox
from tasks.evidence import evidence_rows
from tests.config.test_policy import ALL_KNOWN, CONTROLLERS

WRITTEN = Path(__file__).parent / "written_by_0_1"


def written(name: str) -> Any:
    """A file the previous code pickled, committed with these tests (not outside input)."""
    return pickle.loads((WRITTEN / name).read_bytes())  # noqa: S301


def test_holds_written_before_data_maps_load_with_no_category_and_release_their_rules_categories():
    """A bookkeeping and a claim hold pickled by the previous code load: no category, no fields, no check day;
    each keeps its key (its release run's name) and its rule's categories, which its release deletes."""
    bookkeeping, claim = written("holds.pickle")

    assert ("", (), None) == (bookkeeping.category, bookkeeping.fields, bookkeeping.check_on)
    assert ("exceline-bookkeeping", date(2031, 12, 31)) == (bookkeeping.key, bookkeeping.release_day)
    assert ("invoices", "payments", "transactions", "customer ledger") == bookkeeping.categories
    assert ("exceline-claim", True) == (claim.key, claim.holds_record)


def test_a_cached_plan_and_evidence_from_before_data_maps_still_serve_the_run():
    """A suspended run's cached plan (no per-category erasures: the processor is erased as a block, as planned
    then) and a finished request's evidence (no category rows) load and render."""
    results = written("results.pickle")

    plan, evidence = results["plan"], results["evidence"]
    assert ((), (), ()) == (plan.erasures, plan.holdings.dated, results["outcome"].categories)
    assert "exceline" == plan.step and "invoices" in plan.holdings.categories
    assert "" == evidence_rows(evidence)[0]["categories"]
    assert "exceline" in render_letter(evidence, "Aktiv365")


def test_a_release_after_the_upgrade_holds_the_category_the_data_map_names():
    """The release run an old request scheduled (system and rule only) recomputes its hold from today's data
    map: the invoices, with the buyer's name and address kept, on the same day as before."""
    policy = load_policy("aktiv365", CONTROLLERS, ALL_KNOWN)
    old = written("holds.pickle")[0]

    [now] = [h for h in holds_for(policy, "exceline", Clocks(bookkeeping_entries=(date(2026, 1, 1),)))
             if h.rule == old.rule]

    assert (old.key, old.retain_until, old.records_through) == (now.key, now.retain_until, now.records_through)
    assert ("invoices", True) == (now.category, {"buyer_name", "buyer_address"} <= set(now.fields))


NETS = Path(__file__).parent / "written_by_15e2780"


def written_for_nets() -> dict[str, Any]:
    """What the code before the Nets remodel pickled for Nets (written_by_15e2780/README.md)."""
    return dict(pickle.loads((NETS / "nets.pickle").read_bytes()))  # noqa: S301


@contextlib.asynccontextmanager
async def nets_twin(world: Sandbox) -> AsyncIterator[NetsConnector]:
    """Today's Nets connector on today's twin."""
    settings = load_settings(processors={"nets": {"base_url": "http://nets.sandbox", "api_key": "test"}})
    with use_transports(world.transports()):
        async with connect("nets", settings) as (nets, _):
            yield nets  # type: ignore[misc]


async def test_a_cached_nets_plan_from_before_the_remodel_is_a_persons_step_and_verifies():
    """A suspended run's cached Nets plan (ids "customer/…", "card/…", "mandate/…", no data map) erases as a
    block today: the payments restricted keeping the bookkeeping fields, the card and the mandate a person's
    step; its read-back verifies (an old card token is not Nexi's to read; the confirmation stands for it)."""
    old = written_for_nets()
    world = Sandbox()

    async with nets_twin(world) as nets:
        outcome = await nets.erase(old["plan"].holdings, old["plan"].action, "slett:old-request:nets:delete")
        check = await nets.verify(old["plan"].holdings, old["plan"].action)

    payment = world.nets.payers["NC-1001"].transactions[0]
    assert ("customer/NC-1001", "card/tok_001001a", "mandate/AG-1001") == old["holdings"].ids
    assert (Status.MANUAL, True) == (outcome.status, check.verified)
    assert "tok_001001a" in outcome.detail and "AG-1001" in outcome.detail
    assert (True, None) == (payment["restricted"], payment["payer_email"])


async def test_an_accepted_mandate_job_from_before_the_remodel_becomes_a_persons_step():
    """The old connector answered a mandate deletion with a job (an endpoint no real API has); a resumed run
    polls it with today's code and gets a person's step for the mandate, not an error."""
    old = written_for_nets()

    async with nets_twin(Sandbox()) as nets:
        polled = await nets.poll(old["accepted"].reference)

    assert (Status.ACCEPTED, "job_00001") == (old["accepted"].status, old["accepted"].reference)
    assert (Status.MANUAL, Action.DELETE) == (polled.status, polled.action)


async def test_nets_holdings_from_before_the_remodel_release_the_payments_their_hold_kept():
    """The bookkeeping hold the old code wrote for Nets releases with today's connector through its old
    holdings: the payments dated up to the hold's newest record go, the next year's stay."""
    old = written_for_nets()
    world = Sandbox()
    hold = old["hold"]

    async with nets_twin(world) as nets:
        released = await nets.release(old["holdings"], hold.categories, "r1", hold.records_through)

    assert (("transactions",), date(2025, 12, 15)) == (hold.categories, hold.records_through)
    assert (Status.ERASED, 11) == (released.status, released.count)
    assert ["2026-01-15"] == [t["transaction_date"] for t in world.nets.payers["NC-1001"].transactions]
