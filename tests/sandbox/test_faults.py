"""Fault switches: seeded dice, a script that goes first, and middleware that obeys both."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from sandbox.faults import Faults


def rolls(faults: Faults, n: int) -> list[str]:
    """The next `n` faults."""
    return [faults.next_fault() for _ in range(n)]


def test_same_seed_same_faults():
    """Two Faults with one seed and the same rates fail the same requests; another seed differs."""
    rates = {"error_rate": 0.2, "throttle_rate": 0.2, "drop_rate": 0.1}

    first = rolls(Faults(seed=7).configure(**rates), 200)

    assert first == rolls(Faults(seed=7).configure(**rates), 200)
    assert first != rolls(Faults(seed=8).configure(**rates), 200)


def test_rates_are_honoured():
    """Over many requests each fault appears at about its rate."""
    faults = Faults(seed=1).configure(error_rate=0.2, throttle_rate=0.1, drop_rate=0.05)

    counts = Counter(rolls(faults, 4000))

    assert 0.2 == pytest.approx(counts["500"] / 4000, abs=0.03)
    assert 0.1 == pytest.approx(counts["429"] / 4000, abs=0.03)
    assert 0.05 == pytest.approx(counts["drop"] / 4000, abs=0.02)


def test_throttle_can_be_503():
    """Throttling can answer 503 instead of 429."""
    faults = Faults().configure(throttle_rate=1.0, throttle_status=503)

    assert ["503", "503"] == rolls(faults, 2)


def test_script_goes_before_the_dice_in_order():
    """Scripted faults are used one per request, in order, before random faults."""
    faults = Faults().configure(error_rate=1.0).script("ok", "429", "drop")

    assert ["ok", "429", "drop", "500"] == rolls(faults, 4)
    assert () == faults.scripted


def test_healthy_by_default():
    """Without switches every request is served."""
    assert ["ok"] * 50 == rolls(Faults(seed=3), 50)


@pytest.mark.parametrize("step", ["teapot", "200", "600"])
def test_unknown_script_step_is_refused(step):
    """A script step that is not a 4xx/5xx status or a named fault is an error that lists the choices."""
    with pytest.raises(ValueError, match="unknown fault"):
        Faults().script(step)


def test_unknown_switch_is_refused():
    """An unknown switch name is an error."""
    with pytest.raises(ValueError, match="unknown fault switch"):
        Faults().configure(latency_ms=5)


def test_reset_heals_and_reseeds():
    """reset() turns every switch off, empties the script and replays the same dice."""
    faults = Faults(seed=5)
    before = [faults.rng.random() for _ in range(3)]
    faults.configure(error_rate=1.0, hang=True, script=["400"])

    faults.reset()

    assert (0.0, False, ()) == (faults.error_rate, faults.hang, faults.scripted)
    assert before == [faults.rng.random() for _ in range(3)]


async def test_throttle_sends_retry_after(sandbox, client):
    """A 429 and a 503 carry the configured Retry-After."""
    sandbox.faults["ibooking"].configure(retry_after=9).script("429", "503")

    async with client("ibooking") as ibooking:
        answers = [await ibooking.get("/customers", params={"externalId": "M1001"}) for _ in range(2)]

    assert [(429, "9"), (503, "9")] == [(a.status_code, a.headers["retry-after"]) for a in answers]


async def test_scripted_status_then_service(sandbox, client):
    """A scripted 500 fails one request; the next is served."""
    sandbox.faults["ibooking"].script("500")

    async with client("ibooking") as ibooking:
        statuses = [(await ibooking.get("/customers/71001")).status_code for _ in range(2)]

    assert [500, 200] == statuses


async def test_drop_cuts_the_connection(sandbox, client):
    """A dropped connection reaches an in-process client as ConnectionResetError."""
    sandbox.faults["exceline"].script("drop")

    async with client("exceline") as exceline:
        with pytest.raises(ConnectionResetError):
            await exceline.get("/api/v1/members/M1001")


async def test_lost_answer_applies_the_call(sandbox, client):
    """A lost answer: the processor applies the call, then the connection drops."""
    sandbox.faults["ibooking"].script("lost")

    async with client("ibooking") as ibooking:
        with pytest.raises(ConnectionResetError):
            await ibooking.delete("/customers/71001")

    assert ["ibooking"] == sandbox.destructive_calls_for("M1001")


async def test_hang_outlasts_the_read_timeout(sandbox, client):
    """A hanging processor never answers: the client's read timeout fires."""
    sandbox.faults["physica"].hang = True

    async with client("physica", timeout=0.05) as physica:
        with pytest.raises(httpx.ReadTimeout):
            await physica.get("/api/patients/P-1003")


async def test_latency_delays_answers(sandbox, client):
    """Latency delays each answer by at least its minimum."""
    sandbox.faults["nets"].configure(latency=(0.05, 0.06))

    async with client("nets") as nets:
        started = time.monotonic()
        await nets.get("/v1/payers/NC-1001")

    assert time.monotonic() - started >= 0.05
