"""Every connector rides the shared client: throttling, 5xx, drops and hangs are retried or sorted."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Permanent, Retryable
from tests.connectors.plans import PLANS, SYSTEMS

pytestmark = pytest.mark.parametrize("system", SYSTEMS)


async def test_throttled_call_waits_at_least_retry_after(system, sandbox, open_connector, subject, sleep):
    """A 429 with Retry-After is retried after waiting at least Retry-After."""
    sandbox.faults[system].configure(retry_after=7).script("429")

    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(PLANS[system][0]))

    assert holdings.found
    assert 1 == len(sleep.waits)
    assert sleep.waits[0] >= 7


async def test_unavailable_with_retry_after_waits_too(system, sandbox, open_connector, subject, sleep):
    """A 503 with Retry-After is treated like a 429: waited on, then retried."""
    sandbox.faults[system].configure(retry_after=3).script("503")

    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(PLANS[system][0]))

    assert holdings.found
    assert sleep.waits[0] >= 3


async def test_server_error_then_success(system, sandbox, open_connector, subject, sleep):
    """A 500 followed by success is retried once and succeeds."""
    sandbox.faults[system].script("500", "ok")

    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(PLANS[system][0]))

    assert holdings.found
    assert 1 == len(sleep.waits)


async def test_bad_request_is_permanent_and_not_retried(system, sandbox, open_connector, subject, sleep):
    """A 400 raises Permanent after exactly one attempt."""
    sandbox.faults[system].script("400")

    async with open_connector(system) as (connector, client):
        with pytest.raises(Permanent, match="HTTP 400"):
            await connector.lookup(subject(PLANS[system][0]))

    assert (1, []) == (client.attempts, sleep.waits)


async def test_missing_api_key_is_permanent(system, sandbox, open_connector, make_settings, subject):
    """A processor that answers 401 (no key) is Permanent: another try will not fix the credential."""
    async with open_connector(system, settings=make_settings(api_key="")) as (connector, client):
        with pytest.raises(Permanent, match="HTTP 401"):
            await connector.lookup(subject(PLANS[system][0]))

    assert 1 == client.attempts


async def test_dropped_connection_is_retried(system, sandbox, open_connector, subject, sleep):
    """A connection dropped mid-answer is retried and the call succeeds."""
    sandbox.faults[system].script("drop")

    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(PLANS[system][0]))

    assert holdings.found
    assert 1 == len(sleep.waits)


async def test_hang_times_out_and_is_retryable(system, sandbox, open_connector, make_settings, subject,
                                               policy):
    """A processor that never answers times out on every attempt, then surfaces as Retryable."""
    sandbox.faults[system].hang = True

    async with open_connector(system, settings=make_settings(read_timeout=0.05)) as (connector, client):
        with pytest.raises(Retryable, match="timed out"):
            await connector.lookup(subject(PLANS[system][0]))

    assert policy.attempts == client.attempts


async def test_retry_after_beyond_the_cap_surfaces_at_once(system, sandbox, open_connector, subject, sleep):
    """A Retry-After longer than the cap is not slept on: Retryable at once, carrying the delay."""
    sandbox.faults[system].configure(retry_after=600).script("429")

    async with open_connector(system) as (connector, client):
        with pytest.raises(Retryable) as raised:
            await connector.lookup(subject(PLANS[system][0]))

    assert 600 == raised.value.retry_after
    assert (1, []) == (client.attempts, sleep.waits)


async def test_errors_that_persist_surface_after_every_attempt(system, sandbox, open_connector, subject,
                                                               sleep, policy):
    """A processor that keeps failing is tried `attempts` times, then Retryable."""
    sandbox.faults[system].configure(error_rate=1.0)

    async with open_connector(system) as (connector, client):
        with pytest.raises(Retryable, match="HTTP 500"):
            await connector.lookup(subject(PLANS[system][0]))

    assert (policy.attempts, policy.attempts - 1) == (client.attempts, len(sleep.waits))
