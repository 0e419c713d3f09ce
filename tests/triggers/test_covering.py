"""Which of a member's runs answers a delivery: the pending one, the webhook's own, or a finished one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from prefect.client.schemas.objects import FlowRun, State, StateType

from config.deployments import webhook_tag
from triggers.dispatch import covering_run, next_request_id

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
SR = "sr-0123456789abcdef01234567"


def run(state: StateType, created: datetime = T0, ended: datetime | None = None, *tags: str,
        request_id: str | None = None) -> FlowRun:
    """An erase-member run as the Prefect API returns it."""
    return FlowRun(flow_id=uuid4(), state=State(type=state), created=created, end_time=ended, tags=list(tags),
                   parameters={"request_id": request_id} if request_id else {})


def test_no_runs_means_start_request_one():
    """A member with no requests gets request 1, named after the controller and the subject reference."""
    assert (None, f"demo-{SR}-1") == (covering_run([], "msg_1", T0), next_request_id("demo", SR, []))


def test_next_request_is_one_past_the_highest_even_with_a_run_deleted():
    """With request 1 deleted from the history and request 2 left, the next request is 3, not 2 again;
    runs started by hand under ids of their own do not count."""
    second = run(StateType.COMPLETED, request_id=f"demo-{SR}-2")
    by_hand = run(StateType.COMPLETED, request_id="by-hand-m1001-7")

    assert f"demo-{SR}-3" == next_request_id("demo", SR, [second, by_hand])


def test_a_pending_request_answers_every_delivery():
    """While a request is pending (here suspended for settlement) any delivery for the member joins it."""
    pending = run(StateType.PAUSED, T0, None, webhook_tag("msg_1"))

    assert pending is covering_run([pending], "msg_other", T0 + timedelta(days=3))


def test_a_failed_request_is_still_pending():
    """A failed request waits for an operator's retry; a new webhook does not start a second run beside it."""
    failed = run(StateType.FAILED, T0, T0 + timedelta(minutes=1))

    assert failed is covering_run([failed], "msg_new", T0 + timedelta(days=1))


def test_the_same_webhook_after_its_request_finished_gets_that_request():
    """A redelivery of the webhook that started a finished request is answered with that request."""
    done = run(StateType.COMPLETED, T0, T0 + timedelta(minutes=5), webhook_tag("msg_1"))

    assert done is covering_run([done], "msg_1", T0 + timedelta(days=30))


def test_an_event_from_before_the_request_finished_is_covered_by_it():
    """An event that happened before the member's last request finished is answered by that request."""
    done = run(StateType.COMPLETED, T0, T0 + timedelta(minutes=5))

    assert done is covering_run([done], "msg_2", T0 + timedelta(minutes=4))


def test_a_new_event_after_the_last_request_finished_starts_the_next():
    """A termination after the last request finished starts request n + 1."""
    first = run(StateType.COMPLETED, T0, T0 + timedelta(minutes=5), request_id=f"demo-{SR}-1")
    cancelled = run(StateType.CANCELLED, T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=1),
                    request_id=f"demo-{SR}-2")

    found = covering_run([first, cancelled], "msg_3", T0 + timedelta(days=2))

    assert (None, f"demo-{SR}-3") == (found, next_request_id("demo", SR, [first, cancelled]))
