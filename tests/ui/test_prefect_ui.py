"""The Prefect UI of a running stack, in a real browser: erase-member started and resumed by hand."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Locator, Page, expect
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.input.actions import aread_flow_run_input

from cli.demo import started_by
from cli.runs import FINAL, state_label, wait_for

pytestmark = pytest.mark.slow
RUN_TIMEOUT_MS = 120_000
UI_ANSWER_MS = 90_000  # Prefect's SQLite busy timeout is 60 s


def parameter(page: Page, name: str):
    """The text box of one parameter in the UI's schema form."""
    label = page.locator(".schema-form-property__label", has_text=re.compile(f"^{name}$"))
    return page.locator(".schema-form-property", has=label).locator("textarea")


async def test_erase_member_started_from_the_deployment_page_completes(stack, browser, tmp_path):
    """From the erase-member deployment page, a custom run with a controller and a member id (each field
    showing its description) starts the erasure, and the run page shows it Completed."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(f"{stack.ui_url}/deployments", wait_until="networkidle")
    await page.get_by_role("link", name="erase-member").first.click()
    await page.wait_for_url("**/deployments/deployment/**")
    await page.get_by_role("button", name="Run", exact=True).click()
    await page.get_by_text("Custom run").click()
    await expect(page.get_by_text("the member's id at the chain's membership system")).to_be_visible()
    await parameter(page, "controller").fill("demo")
    await parameter(page, "member_id").fill("M1003")
    await submit_as_an_operator(page, page.get_by_role("button", name="Submit"),
                                page.get_by_role("button", name="View run"), stack.server_log)
    # The UI mounts its toast layer twice; the top one takes the click.
    await page.get_by_role("button", name="View run").last.click()
    await page.wait_for_url("**/flow-run/**")

    await expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    await page.screenshot(path=tmp_path / "erase-member-completed.png")

    run_id = UUID(page.url.rsplit("/", 1)[-1].split("?")[0])
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        started = [r for r in await client.read_flow_runs()
                   if r.flow_id == run.flow_id and r.parameters.get("member_id") == "M1003"]
    calls = httpx.get(f"{stack.sandbox_url}/_sandbox/calls/M1003").json()["calls"]
    assert ("COMPLETED", {"controller": "demo", "member_id": "M1003"}) == (
        state_label(run), {k: run.parameters[k] for k in ("controller", "member_id")})
    assert [run_id] == [r.id for r in started]
    assert "exceline" == [call["system"] for call in calls][-1]
    assert (tmp_path / "erase-member-completed.png").stat().st_size > 10_000


async def test_suspended_run_resumed_from_the_ui_form_then_settled_by_webhook(stack, browser, tmp_path):
    """A member terminated in the membership system (a signed webhook) with an open invoice suspends; the
    UI's Resume form hands the run a Settlement, the run checks again and waits again as the invoice is
    still open; paying it sends invoice.settled, and the run completes."""
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=10) as sandbox:
        sent = (await sandbox.post("/_sandbox/members/M1002/terminate", json={"controller": "demo"})).json()
        _, _, run_id = await started_by(sandbox, sent["webhookId"])
        suspended = await wait_for(run_id, FINAL | {"SUSPENDED"}, timeout_s=120)
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        await page.goto(f"{stack.ui_url}/runs/flow-run/{run_id}", wait_until="networkidle")
        await page.get_by_role("button", name="Resume").click()
        await expect(page.get_by_text("who says so: a person or 'membership-webhook'")).to_be_visible()
        await page.locator(".p-modal textarea").fill("ui test operator")
        await submit_as_an_operator(page, page.locator(".p-modal").get_by_role("button", name="Submit"),
                                    page.get_by_text("Flow run resumed"), stack.server_log)
        assert suspended.state is not None and suspended.state.state_details.run_input_keyset is not None
        keyset = suspended.state.state_details.run_input_keyset
        again = await _suspended_again(run_id, suspended.state.state_details.pause_key)

        await sandbox.post("/_sandbox/members/M1002/settle")
        finished = await wait_for(run_id, FINAL, timeout_s=120)
        await page.reload(wait_until="networkidle")
        await expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        await page.screenshot(path=tmp_path / "resumed-run-completed.png")

    assert "SUSPENDED" == state_label(suspended)
    assert {"confirmed_by": "ui test operator", "invoice_id": None} == await aread_flow_run_input(
        keyset["response"], run_id)
    assert ("SUSPENDED", "COMPLETED") == (state_label(again), state_label(finished))


async def submit_as_an_operator(page: Page, submit: Locator, succeeded: Locator, server_log: Path) -> None:
    """Click `submit` until the UI shows `succeeded`, as an operator would: again after a "Failed to …"
    toast, at most three times, and only when Prefect's server logged SQLite's "database is locked"."""
    failed = page.get_by_text(re.compile(r"^Failed to (schedule|resume) flow run"))
    for attempt in range(1, 4):
        await submit.click()
        await expect(succeeded.or_(failed).first).to_be_visible(timeout=UI_ANSWER_MS)
        if await succeeded.first.is_visible():
            return
        # Prefect's server opens these writes as deferred SQLite transactions; a commit by another
        # connection between their read and their write fails them at once, whatever the busy timeout.
        assert "database is locked" in server_log.read_text(), f"attempt {attempt} failed for another reason"
        await failed.first.wait_for(state="hidden", timeout=UI_ANSWER_MS)
    raise AssertionError("the UI failed three times")


async def _suspended_again(run_id: UUID, first_key: str | None, timeout_s: float = 120) -> FlowRun:
    """The run once it has suspended on another key than `first_key` (or ended)."""
    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while time.monotonic() < deadline:
            run = await client.read_flow_run(run_id)
            key = run.state.state_details.pause_key if run.state else None
            if state_label(run) in FINAL or (state_label(run) == "SUSPENDED" and key != first_key):
                return run
            await asyncio.sleep(1)
    raise AssertionError(f"run {run_id} did not suspend again within {timeout_s:.0f} s")


def test_ctrl_c_stops_everything_it_started(stack):
    """Ctrl-C on `slett up` (run last: it ends the module's stack) stops every process it started: it says
    so, exits 0, and nothing answers on the addresses it printed any more."""
    os.kill(stack.process.pid, signal.SIGINT)
    code = stack.process.wait(timeout=120)

    assert (0, "stopped.") == (code, stack.rest_of_output()[-1])
    assert [] == [port for port in stack.ports() if listening(port)]


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
