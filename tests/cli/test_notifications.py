"""The DPO is told, not left to look: `slett setup-automations --notify` sends escalations, failed erasures and
near deadlines through the notification block the operator chose (here one that posts to a local recorder)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import pytest
from prefect import get_client
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events import emit_event

from cli.automations import DPO_ALERTS, DPO_FAILURES
from cli.main import main
from tasks.reconcile import escalate

pytestmark = pytest.mark.slow


class Recorder:
    """A loopback web server that keeps every notification posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dpo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait_for(self, text: str, timeout_s: float = 90) -> dict[str, Any]:
        """The first notification whose body contains `text`, waiting for it a bounded time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [note for note in self.received if text in note["body"]]
            if found:
                return found[0]
            await asyncio.sleep(0.5)
        raise AssertionError(f"no notification about {text!r} within {timeout_s} s; got {self.received}")


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    """The local recorder, stopped after the module."""
    recording = Recorder()
    yield recording
    recording.server.shutdown()


@pytest.fixture(scope="module")
def notify(deployments, recorder: Recorder) -> str:
    """A notification block posting to the recorder, and the DPO's automations set up to use it."""
    CustomWebhookNotificationBlock(name="dpo", url=recorder.url, allow_private_urls=True,
                                   json_data={"subject": "{{subject}}", "body": "{{body}}"}).save("dpo",
                                                                                                   overwrite=True)
    assert 0 == main(["setup-automations", "--notify", "custom-webhook/dpo"])
    return "custom-webhook/dpo"


def test_setup_makes_the_dpo_automations_once_with_the_chosen_block(notify, capsys):
    """Run again, `setup-automations --notify` updates the DPO's two automations in place."""
    assert 0 == main(["setup-automations", "--notify", notify])

    assert [1, 1] == asyncio.run(automation_counts())
    assert f"{DPO_ALERTS}: updated (through {notify})" in capsys.readouterr().out


def test_a_block_that_cannot_notify_is_refused_with_what_to_choose(deployments, capsys):
    """--notify names a block that exists and can send notifications, or the command says what is wrong."""
    assert 1 == main(["setup-automations", "--notify", "custom-webhook/nobody"])
    assert "no notification block 'custom-webhook/nobody' on the server" in capsys.readouterr().out


async def automation_counts() -> list[int]:
    """How many automations of each DPO name the server has."""
    async with get_client() as client:
        return [len(await client.read_automations_by_name(name)) for name in (DPO_ALERTS, DPO_FAILURES)]


async def test_a_request_within_7_days_of_its_deadline_is_sent_to_the_dpo(notify, recorder):
    """deadline-check's due-soon event reaches the DPO with the request, its deadline and the days left."""
    request_id = f"due-{uuid4().hex[:8]}"
    emit_event(event="slett.request.deadline-due-soon",
               resource={"prefect.resource.id": f"prefect.flow-run.{uuid4()}", "slett.request-id": request_id},
               payload={"request_id": request_id, "controller": "aktiv365", "subject_ref": "sr-x",
                        "status": "suspended", "deadline": "2026-12-10", "days_left": 3})

    note = await recorder.wait_for(request_id)

    assert "slett: slett.request.deadline-due-soon" == note["subject"]
    assert f"Request {request_id} (aktiv365), status suspended, deadline 2026-12-10, 3 day(s) left." in note["body"]


async def test_an_escalated_run_is_sent_to_the_dpo_with_its_reason(notify, recorder):
    """recover-crashed's escalation reaches the DPO with the reason a person needs."""
    run_id = uuid4()
    emit_event(event="slett.run.escalated", resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"},
               payload={"crashes": 7, "budget": 6, "reason": "crashed 7 times: left for an operator"})

    note = await recorder.wait_for(str(run_id))

    assert "crashed 7 times: left for an operator" in note["body"]


async def test_a_manual_step_past_its_time_is_sent_to_the_dpo(notify, recorder, deployments):
    """An erasure failed by reconcile-settlements for an unconfirmed manual step reaches the DPO with why."""
    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(
            deployments["erase-member"], parameters={"controller": "demo", "member_id": "M-notify",
                                                     "kind": "termination", "request_id": "notify-1"})
    reason = "escalated: notify at Inkassoselskapet was not confirmed within P5D"

    await escalate.fn(run.id, reason)

    note = await recorder.wait_for(reason)
    assert f"erase-member run {run.name} failed" == note["subject"].removeprefix("slett: ")
