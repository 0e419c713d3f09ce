"""Rate limits: a token bucket per system, enforced with 429 and Retry-After before any fault or handler."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from sandbox.limits import RateLimit
from sandbox.people import SYSTEMS
from sandbox.world import Sandbox


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refuses_until_refilled():
    """Two a second with a burst of two: two go at once, the third waits half a second, then one goes."""
    clock = Clock()
    limit = RateLimit(clock=clock).configure(2, burst=2)

    waits = [limit.wait() for _ in range(3)]
    clock.now += 0.5
    later = limit.wait()

    assert ([0.0, 0.0, 0.5], 0.0, 1) == (waits, later, limit.refused)


def test_no_limit_never_waits():
    """Without a limit every request goes."""
    assert {0.0} == {RateLimit().wait() for _ in range(1_000)}


@pytest.mark.parametrize("bad", [{"per_second": 0}, {"per_second": -1}, {"per_second": 1, "burst": 0}])
def test_nonsense_limits_are_refused(bad):
    """A limit must be positive and a burst at least one."""
    with pytest.raises(ValueError, match="must be"):
        RateLimit().configure(**bad)


@pytest.mark.parametrize(("system", "path"), [
    ("exceline", "/api/v1/members/M1001"), ("ibooking", "/customers/71001"), ("eziteq", "/api/v3/members/M1101"),
    ("fixit", "/api/customers/81201"), ("lifevision", "/api/v2/contacts/lv-001101"),
    ("stripe", "/v1/customers?limit=1")])
async def test_over_the_limit_is_429_with_retry_after(system, path, sandbox, client):
    """Past the burst, a system answers 429 with a whole-second Retry-After until the bucket refills."""
    clock = Clock()
    sandbox.limit(system, per_second=1, burst=2)
    sandbox.limits[system].clock = clock

    async with client(system) as api:
        answers = [await api.get(path) for _ in range(3)]
        clock.now += 1.0
        refilled = await api.get(path)

    assert [200, 200, 429, 200] == [a.status_code for a in [*answers, refilled]]
    assert "1" == answers[2].headers["Retry-After"]


async def test_stripe_throttles_in_its_own_words(sandbox, client):
    """Stripe's 429 carries Stripe's error object: the spec's invalid_request_error, with the code rate_limit."""
    sandbox.limit("stripe", per_second=1, burst=1)
    sandbox.limits["stripe"].clock = Clock()

    async with client("stripe") as stripe:
        await stripe.get("/v1/customers")
        refused = await stripe.get("/v1/customers")

    assert (429, "invalid_request_error", "rate_limit") == (
        refused.status_code, refused.json()["error"]["type"], refused.json()["error"]["code"])


async def test_refused_requests_use_no_scripted_fault(sandbox, client):
    """The limit is checked before the fault switches: a refused request leaves the fault script untouched."""
    sandbox.limit("fixit", per_second=1, burst=1)
    sandbox.limits["fixit"].clock = Clock()
    sandbox.faults["fixit"].script("500")

    async with client("fixit") as fixit:
        statuses = [(await fixit.get("/api/customers/81201")).status_code for _ in range(2)]

    assert ([500, 429], ()) == (statuses, sandbox.faults["fixit"].scripted)


def test_limit_all_and_reset():
    """limit("all", ...) sets every system; reset() lifts every limit."""
    sandbox = Sandbox()
    sandbox.limit("all", per_second=5)

    limited = {system for system, limit in sandbox.limits.items() if limit.per_second == 5}
    sandbox.reset()

    assert set(SYSTEMS) == limited
    assert {None} == {limit.per_second for limit in sandbox.limits.values()}
