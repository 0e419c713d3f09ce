"""The critical path of an erasure's processor calls: calls in flight together count once."""

from __future__ import annotations

from benchmarks.critical_path import sequential_calls


def test_calls_one_after_the_other_each_count():
    """Three calls of 0.1 s, each after the one before: three in a row."""
    assert 3.0 == round(sequential_calls([(0.0, 0.1), (0.1, 0.2), (0.25, 0.35)], 0.1), 6)


def test_calls_in_flight_together_count_once():
    """Four calls sent at once, then one after them: two in a row, whatever order they are listed in."""
    spans = [(0.1, 0.2), (0.0, 0.1), (0.0, 0.1), (0.0, 0.1), (0.0, 0.1)]

    assert 2.0 == round(sequential_calls(spans, 0.1), 6)


def test_a_call_that_outlasts_others_started_with_it_extends_the_path():
    """A slow call (0.3 s) and a quick one beside it, then a call while the slow one still runs: 0.3 s of calls."""
    assert 3.0 == round(sequential_calls([(0.0, 0.3), (0.0, 0.1), (0.15, 0.25)], 0.1), 6)
