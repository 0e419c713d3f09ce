"""How the chaos suite words why a request stopped: enough to trace it, never a member's data."""

from __future__ import annotations

from benchmarks.chaos import Plan, next_look_s, reason_of
from benchmarks.pii import Needles
from benchmarks.tally import Ask, Ending

ASK = Ask("chaos-6-0001", "demo", "M1001", "erasure", "settled")
NEEDLES = Needles(["Kari Nordmann", "kari@example.no", "+47 912 34 567"])


def test_a_failed_request_keeps_the_first_line_of_its_message():
    """The state's message names the exception and its words, not only its type."""
    end = Ending(ASK, "FAILED", "Flow run encountered an exception: RuntimeError: Flow run cannot be suspended: "
                 "Aborted\nTraceback (most recent call last): ...", 0, False, ())

    assert ("FAILED: Flow run encountered an exception: RuntimeError: Flow run cannot be suspended: Aborted"
            == reason_of(end, NEEDLES))


def test_a_message_that_names_a_members_data_is_withheld():
    """A message holding a member's e-mail address is replaced, whatever else it says."""
    end = Ending(ASK, "FAILED", "Flow run encountered an exception: ValueError: no such subscriber kari@example.no",
                 0, False, ())

    assert "FAILED: (message withheld: it holds a member's personal data)" == reason_of(end, NEEDLES)


def test_a_waiting_request_says_what_it_waits_for():
    """A suspended run's reason is its key: a settlement or a person's confirmation."""
    end = Ending(ASK, "PAUSED", "", 0, False, (), waiting_for="confirm-1-manual-relisec-as")

    assert "PAUSED: waiting for confirm-1-manual-relisec-as" == reason_of(end, NEEDLES)


def test_a_message_longer_than_a_line_of_the_figures_is_cut():
    """Reasons are counted by their words: a long message is cut at 200 characters."""
    end = Ending(ASK, "FAILED", "x" * 500, 0, False, ())

    assert "FAILED: " + "x" * 200 == reason_of(end, NEEDLES)


def test_the_suite_looks_again_soon_after_a_round_that_resumed_runs():
    """After a round that resumed runs the suite looks again within a second (a resumed run is soon suspended for
    its next person's step); after a round that resumed none, a poll later."""
    plan = Plan(poll_s=5.0)

    assert (1.0, 5.0) == (next_look_s(plan, resumed=3), next_look_s(plan, resumed=0))
