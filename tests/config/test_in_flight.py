"""Work in flight when slett learnt data maps: results and holds the previous code wrote still load and release.

The files in written_by_0_1/ were pickled by the code before data maps (commit d3b4df0), as Prefect's result
store holds them for a suspended run's cached steps and a scheduled release's evidence.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from config.holds import Clocks, clocks_of, holds_for
from config.policy import load_policy
from config.settings import load_settings
from connectors.categories import by_category
from connectors.contract import Action, CategoryErasure, Holdings, RetentionFacts, Status, Subject
from connectors.http import use_transports
from connectors.nets import NetsConnector
from connectors.registry import connect
from domain.categories import erasures_for
from domain.values import OSLO, Extension, Kind, Request, SystemPlan
from evidence.letter import render_letter
from sandbox.world import Sandbox
from tasks.erasure import verify_everywhere
from tasks.evidence import evidence_rows
from tests.config.test_policy import ALL_KNOWN, CONTROLLERS
from tests.connectors.conftest import sandbox_settings

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
@pytest.mark.parametrize(("chain", "system", "action"), [
    ("vekstly", "stripe", Action.DELETE),
    ("aktiv365", "ibooking", Action.DELETE),
    ("aktiv365", "fixit", Action.DELETE),
    ("k24", "physica", Action.RESTRICT),
])
async def test_a_block_erasure_cached_before_category_connectors_is_read_back_as_a_block(chain, system, action):
    """A run in flight whose erase step the previous code did as a block (Stripe's customer deleted and its
    charges untouched, a customer deleted, a journal restricted: an outcome with no category rows) is read back
    as a block after the upgrade, though today's plan names categories: it is verified, not failed for charges
    the old step never restricted."""
    sandbox = Sandbox()
    member = sandbox.add_member(chain=chain, journal=True)
    policy = load_policy(chain, CONTROLLERS, ALL_KNOWN)
    subject = Subject(chain, member.member_id, email=member.email, phone=member.phone, name=member.name)
    settings = sandbox_settings()
    with use_transports(sandbox.transports()):
        async with connect(system, settings) as (connector, _):
            holdings = await connector.lookup(subject)
            old = await connector.erase(holdings, action, f"slett:old:{system}:{action.value}")
        ended = frozenset({"withdrawal"}) if system == "stripe" else frozenset()
        plan = SystemPlan(system, policy.processor(system).role, action, holdings, None, system,
                          erasures_for(policy, system, holdings, ended))
        request = Request("old", chain, member.member_id, Kind.ERASURE, "sr-old", datetime.now(UTC),
                          datetime.now(OSLO).date())
        [checked] = await verify_everywhere.fn(request, [plan], [old], settings)

    assert (True, (), True) == (bool(plan.erasures), old.categories, checked.verified)
    assert [e.category for e in plan.erasures] == [c.category for c in checked.categories]


async def test_a_category_erasure_on_holdings_the_previous_code_looked_up_finds_its_records():
    """Holdings an old lookup returned for a described processor (ids and category names, no dated categories)
    serve today's per-category erasure: the bookings go, the customer stays until its own category goes."""
    sandbox = Sandbox()
    member = sandbox.add_member(chain="aktiv365")
    [customer] = [c for c in sandbox.ibooking.customers.values() if c.external_id == member.member_id]
    old = Holdings.of("ibooking", ids=[customer.id], categories={"profile", "bookings"})
    bookings = CategoryErasure("bookings", Action.DELETE)
    with use_transports(sandbox.transports()):
        async with connect("ibooking", sandbox_settings()) as (connector, _):
            ibooking = by_category(connector)
            assert ibooking is not None
            erased = await ibooking.erase_category(old, bookings, "slett:old:ibooking:delete:bookings")
            check = await ibooking.verify_category(old, bookings)

    assert (Status.ERASED, True, [], True) == (erased.status, check.verified, customer.bookings,
                                               customer.id in sandbox.ibooking.customers)
def test_an_extension_pickled_under_its_old_name_loads_as_the_moved_one():
    """An Art. 12(3) extension pickled while it lived in tasks/deadlines.py loads as domain.values.Extension."""
    extension = Extension("r1", date(2026, 1, 5), date(2026, 3, 5), "many processors", "dpo",
                          datetime(2026, 1, 2, 9, tzinfo=UTC))
    # Protocol 2 names a class by "module\nname", as a result written before the move names it.
    old = pickle.dumps(extension, protocol=2).replace(b"cdomain.values\nExtension", b"ctasks.deadlines\nExtension")

    assert b"tasks.deadlines" in old
    assert extension == pickle.loads(old)  # noqa: S301 - made by this test


def test_clocks_count_each_bookkeeping_entry_once_oldest_first():
    """The processor's invoices and transactions are one list of bookkeeping days, each day once, oldest first;
    the other dates are taken as reported."""
    facts = RetentionFacts(invoice_dates=(date(2025, 3, 1), date(2024, 1, 2)), transaction_dates=(date(2025, 3, 1),),
                           contract_end_dates=(date(2025, 6, 30),), last_journal_entry=date(2025, 5, 5))

    assert Clocks(bookkeeping_entries=(date(2024, 1, 2), date(2025, 3, 1)), contract_ends=(date(2025, 6, 30),),
                  last_journal_entry=date(2025, 5, 5)) == clocks_of(facts)
