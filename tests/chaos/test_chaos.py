"""The chaos suite in small: erasures under processor faults, kill -9 of flow processes and a worker, and a
Prefect server restart (the full suite is `make chaos`)."""

from __future__ import annotations

import os

import pytest

from benchmarks.chaos import Plan, run_chaos

pytestmark = pytest.mark.slow


def test_nothing_lost_or_harmed_twice_under_faults_kills_and_a_server_restart():
    """Twelve requests meet 500s, 429/503 with Retry-After, dropped and lost answers; three kill -9s (right
    after a processor applied a call, inside a step, a whole worker) and a server restart. Every request
    completes or stops visibly with a reason, none is lost, no destructive call is applied twice, every
    Retry-After is waited out, each recovered request ends exactly as the untouched ones did, and no member's
    name, e-mail, phone or address is left in the database, the result storage or any process's log."""
    result = run_chaos(Plan(requests=12, kills=3, budget_s=600, worker_limit=6, latency_s=0.5, chains="demo",
                            stuck_pending_s=150, kill_gap_s=6, poll_s=2))

    assert 0 == result["lost"], result["lost_requests"]
    assert {} == result["unfinished_at_deadline"]
    assert 0 == result["duplicated_harm"]
    assert 0 == result["retry_after_violations"]
    assert 0 == result["outcome_mismatches"], result["outcome_differences"]
    assert 3 == result["kills"]
    assert 1 == result["server_restarts"]
    assert 12 == result["completed"] + result["escalated"]
    assert result["recovered"] >= 1
    assert result["retry_after_checked"] > 0
    assert 0 == result["pii_hits"], result["pii_places"]
    assert set(result["peak_rss_mb"]) == set(result["cpu_s"])  # every process's CPU time, as its memory
    assert all(seconds > 0 for seconds in result["cpu_s"].values())
    if os.environ.get("CI"):  # CI has PostgreSQL and Redis: the suite must have run on them, as at scale
        assert ("postgresql", "api and services over redis") == (result["database"], result["server"])
