"""Calls that do not depend on each other go at once: under a slow processor each round trip is on the erasure's
path, so a lookup, a processor's categories and their read-back take as few rounds as their order allows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from config.policy import load_policy
from connectors.actions import together
from connectors.categories import by_category, erase_categories, stages, verify_categories
from connectors.contract import Action, CategoryErasure, Subject
from connectors.http import ProcessorClient, RetryPolicy, use_transports
from connectors.registry import connect
from domain.categories import erasures_for
from domain.values import SystemPlan
from sandbox.world import Sandbox

LATENCY_S = 0.02  # long enough that calls sent together are in flight together


class Rounds(httpx.AsyncBaseTransport):
    """A transport that notes, for each request, the requests still in flight when it started."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight: set[str] = set()
        self.seen: list[tuple[str, frozenset[str]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on, noting what else was in flight."""
        call = f"{request.method} {request.url.path}"
        self.seen.append((call, frozenset(self.in_flight)))
        self.in_flight.add(call)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight.discard(call)

    def rounds(self) -> list[set[str]]:
        """The requests grouped into rounds: a request that started alone (or after its round) opens a new one."""
        found: list[set[str]] = []
        for call, others in self.seen:
            if found and others & found[-1]:
                found[-1].add(call)
            else:
                found.append({call})
        return found


@pytest.fixture
def slow_sandbox() -> Sandbox:
    """A sandbox whose every processor answers after LATENCY_S."""
    world = Sandbox()
    for faults in world.faults.values():
        faults.configure(latency=(LATENCY_S, LATENCY_S))
    return world


@pytest.fixture
def opened(slow_sandbox: Sandbox, settings: Any, policy: RetryPolicy) -> Callable[..., Any]:
    """Open a connector on the slow sandbox; yields (connector, client, the transport's rounds)."""

    @asynccontextmanager
    async def open_(system: str) -> AsyncIterator[tuple[Any, ProcessorClient, Rounds]]:
        transports = slow_sandbox.transports()
        rounds = Rounds(transports[system])
        with use_transports({**transports, system: rounds}):
            async with connect(system, settings, policy) as (connector, client):
                yield connector, client, rounds

    return open_


async def test_together_gives_every_answer_in_the_order_asked():
    """together awaits the calls at once and gives their answers in the order they were asked for."""

    async def answer(value: int, after_s: float) -> int:
        await asyncio.sleep(after_s)
        return value

    assert [1, 2, 3] == await together(answer(1, 0.03), answer(2, 0.0), answer(3, 0.01))


async def test_together_raises_the_first_error_once_every_call_has_ended():
    """A call that fails does not leave the others running: together raises its error after they have all ended."""
    ended: list[str] = []

    async def fails() -> None:
        raise ValueError("refused")

    async def slow() -> None:
        await asyncio.sleep(0.02)
        ended.append("slow")

    with pytest.raises(ValueError, match="refused"):
        await together(fails(), slow())
    assert ["slow"] == ended


async def test_exceline_lookup_reads_the_member_then_its_parts_at_once(opened):
    """Exceline's lookup reads the member record first (a member it does not know stops there), then its
    invoices, visits, consents and records in one round."""
    async with opened("exceline") as (exceline, _, rounds):
        await exceline.lookup(Subject("demo", "M1001"))

    member = "/api/v1/members/M1001"
    assert [{f"GET {member}"}, {f"GET {member}/{part}" for part in ("invoices", "visits", "consents", "records")}] \
        == rounds.rounds()


async def test_nets_lookup_reads_both_kinds_of_stored_card_at_once(opened):
    """Nets' lookup reads the payer first, then the member's stored cards of both kinds at Nexi in one round."""
    async with opened("nets") as (nets, _, rounds):
        await nets.lookup(Subject("demo", "M1001"))

    assert [{"GET /v1/payers"}, {"GET /v1/subscriptions", "GET /v1/unscheduledsubscriptions"}] == rounds.rounds()


def test_stages_keep_the_data_maps_order_held_first_profile_last():
    """A processor's categories are erased in stages: the held ones at once, then the others at once, then the
    profile, which other processors look the member up by."""
    invoices = CategoryErasure("invoices", Action.RESTRICT, ("amount",), "bookkeeping")
    contracts = CategoryErasure("contracts", Action.RESTRICT, ("ended_on",), "contracts")
    photo, visits = CategoryErasure("photo", Action.DELETE), CategoryErasure("visits", Action.DELETE)
    profile = CategoryErasure("profile", Action.ANONYMISE)

    assert [(invoices, contracts), (photo, visits), (profile,)] == stages((invoices, contracts, photo, visits,
                                                                          profile))


async def test_exceline_categories_are_erased_in_stages_and_read_back_at_once(opened, settings):
    """Exceline erases a member's held categories in one round, the other categories in the next and the profile
    last; it reads every category back in one round, each as its erasure left it."""
    policy = load_policy("demo", settings.controllers_dir)
    async with opened("exceline") as (exceline, _, rounds):
        holdings = await exceline.lookup(Subject("demo", "M1001"))
        plan = SystemPlan("exceline", "membership", Action.ANONYMISE, holdings, key="exceline",
                          erasures=erasures_for(policy, "exceline", holdings))
        rounds.seen.clear()
        categorised = by_category(exceline)
        assert categorised is not None
        erased = await erase_categories(categorised, plan, "test-at-once")
        checked = await verify_categories(categorised, plan, erased)

    posts = [[e.category for e in stage] for stage in stages(plan.erasures)]
    categories = "/api/v1/members/M1001/categories"
    assert [*({f"POST {categories}/{c}" for c in stage} for stage in posts),
            {f"GET {categories}/{e.category}" for e in plan.erasures}] == rounds.rounds()
    assert (["profile"], True) == (posts[-1], checked.verified)


async def test_eziteq_lookup_reads_the_member_then_its_lists_at_once(opened, slow_sandbox):
    """Eziteq's lookup reads the member record first, then the first page of each of its invoices, journal notes,
    contracts and check-ins in one round (a list's further pages follow its first)."""
    member_id = slow_sandbox.add_member(chain="k24").member_id
    async with opened("eziteq") as (eziteq, _, rounds):
        await eziteq.lookup(Subject("k24", member_id))

    member = f"/api/v3/members/{member_id}"
    parts = ("invoices", "journal-notes", "contracts", "checkins")
    assert [{f"GET {member}"}, {f"GET {member}/{part}" for part in parts}] == rounds.rounds()[:2]


async def test_categories_that_may_share_a_resource_are_erased_and_read_back_one_at_a_time(opened, slow_sandbox,
                                                                                          settings):
    """A processor described in YAML may reach two categories through one resource (MOVA's image bank: a person and
    their images): its categories are erased and read back one after the other, never two calls at once, so a
    throttle's Retry-After for one is never met by the other."""
    policy = load_policy("mova", settings.controllers_dir)
    member_id = slow_sandbox.add_member(chain="mova").member_id
    async with opened("imagebank") as (imagebank, _, rounds):
        holdings = await imagebank.lookup(Subject("mova", member_id))
        plan = SystemPlan("imagebank", "processor", Action.DELETE, holdings, key="imagebank",
                          erasures=erasures_for(policy, "imagebank", holdings))
        rounds.seen.clear()
        categorised = by_category(imagebank)
        assert categorised is not None
        await verify_categories(categorised, plan, await erase_categories(categorised, plan, "test-one-at-a-time"))

    assert (True, [1] * len(rounds.seen)) == (len(plan.erasures) > 1, [len(r) for r in rounds.rounds()])


async def test_a_described_processor_goes_at_once_only_where_no_two_categories_share_a_resource(opened):
    """iBooking's bookings and customer are separate resources, so their calls may go at once; MOVA's image bank
    deletes a person's images with the person (one DELETE for both categories), so its calls go one at a time."""
    async with opened("ibooking") as (ibooking, _, _), opened("imagebank") as (imagebank, _, _):
        assert (True, False) == (ibooking.categories_at_once, imagebank.categories_at_once)
