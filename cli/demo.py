"""`slett demo`: one request per chain, a withdrawal of marketing consent, a legal hold set with `slett hold`, an
erasure request while the membership runs and one for an unknown member; sent in by the sandbox's membership system
as signed webhooks (or from the erase-member form, as an operator would), carried out end to end on a local stack;
evidence and letters printed."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from prefect.client.schemas.objects import FlowRun

from cli.commands.letter import read_letter
from cli.runs import FINAL, state_label, wait_for
from cli.stack import EXE, Stack, local_stack
from config.settings import PROJECT_ROOT
from connectors.contract import CategoryResult
from domain.values import OSLO
from evidence.ledger import open_ledger
from queries.runs import confirm_step, start_erasure, waiting_for_person
from sandbox.demo_requests import DEMO_REQUESTS, DemoRequest
from triggers.dispatch import run_of_webhook

COLUMNS = ("system", "action", "status", "verified", "retain_until", "reference", "attempts")
HOLD_COLUMNS = ("system", "rule", "category", "fields", "retain_until", "check_on", "legal_hold_until", "status")
WEBHOOK = {"termination": "member.terminated", "erasure": "erasure.requested", "withdrawal": "marketing.withdrawn"}
SENDS = {"termination": "terminate", "erasure": "forget", "withdrawal": "withdraw-marketing"}  # sandbox endpoints
ANSWERS = ("erasure", "withdrawal")  # the ledger's record kinds that answer a request
LETTERS = ("acknowledgment", "answer")  # the letters printed for a request that asks for them, in the order sent


def table(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """Evidence rows as an aligned text table."""
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
        # Per category: what was done, the fields a hold keeps and its rule, and the read-back.
        lines += [f"    - {category}" for category in str(r.get("categories", "")).split("; ") if category]
    return "\n".join(lines)


async def delivered(sandbox: httpx.AsyncClient, webhook_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The receiver's answer to one of the sandbox's webhooks, once the sandbox has delivered it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        deliveries = (await sandbox.get("/_sandbox/webhooks")).json()["deliveries"]
        found = next(d for d in deliveries if d["webhookId"] == webhook_id)
        if found["delivered"]:
            answer: dict[str, Any] = found["answer"]
            return answer
        await asyncio.sleep(0.5)
    raise RuntimeError(f"webhook {webhook_id} was not delivered within {timeout_s:.0f} s "
                       f"(answers so far: {found['statuses']}); see .slett/logs/receiver.log")


async def started_by(sandbox: httpx.AsyncClient, webhook_id: str, timeout_s: float = 60) -> tuple[str, str, UUID]:
    """The receiver's status, the request id and the run for one of the sandbox's webhooks: from the answer, or,
    when the receiver answered `queued`, from the run tagged with the webhook once Prefect has it."""
    answer = await delivered(sandbox, webhook_id, timeout_s)
    if answer.get("flow_run_id"):
        return answer["status"], answer["request_id"], UUID(answer["flow_run_id"])
    run = await run_of_webhook(webhook_id, timeout_s)
    return answer["status"], str(run.parameters["request_id"]), run.id


async def run_demo(stack: Stack) -> int:
    """Send each demo request in through the sandbox's membership system; pay, or confirm by hand, what a
    run waits for; print each request's evidence. The number of requests that did not complete."""
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=10) as sandbox:
        runs: dict[str, tuple[DemoRequest, str, UUID]] = {}
        for asked in demo_requests():
            if asked.legal_hold:
                print(await set_legal_hold(stack, asked, datetime.now(OSLO).date()))
            if asked.by_form:
                request_id = str(uuid4())
                run_id = (await start_erasure(asked.controller, asked.member_id, asked.kind, request_id)).id
                print(f"erase-member form {asked.controller}/{asked.member_id}: started request {request_id} "
                      f"({asked.story})")
            else:
                sent = await sandbox.post(f"/_sandbox/members/{asked.member_id}/{SENDS[asked.kind]}",
                                          json={"controller": asked.controller})
                status, request_id, run_id = await started_by(sandbox, sent.raise_for_status().json()["webhookId"])
                print(f"{WEBHOOK[asked.kind]} {asked.controller}/{asked.member_id}: {status} request "
                      f"{request_id} ({asked.story})")
            runs[asked.member_id] = (asked, request_id, run_id)
        failures = 0
        for member_id, (asked, request_id, run_id) in runs.items():
            finished = await _see_through(sandbox, asked, request_id, run_id)
            message = await _final_message(run_id)
            failures += not ended_as_told(asked, finished, message)
            print(f"\n== {request_id} ({asked.controller}, member {member_id}): {finished}")
            if asked.ends_with:
                print(f"{message}\n{await changed_by_calls(sandbox, member_id)}")
                continue
            ledger_url = stack.env["SLETT_LEDGER_URL"]
            steps, holds = await sealed(ledger_url, request_id)
            print(table(steps))
            print("".join(f"note: {note}\n" for note in await notes(ledger_url, request_id)), end="")
            if asked.kind == "withdrawal":
                print(await suppression(ledger_url, request_id))
                continue
            print("holds in the ledger (the daily release-holds sweep releases each on its day):")
            print(table(holds, HOLD_COLUMNS))
            if asked.letters:
                print(await letters(request_id, stack.home / ".slett" / "letters"))
    return failures


def ended_as_told(asked: DemoRequest, finished: str, message: str) -> bool:
    """Whether a demo request's run ended as its story says: in its state, and with its message's end if told."""
    return finished == asked.ends and message.endswith(asked.ends_with)


def hold_arguments(asked: DemoRequest, today: date) -> list[str]:
    """The `slett hold` command line a person types to set the demo request's legal hold."""
    legal = asked.legal_hold
    if legal is None:
        raise ValueError(f"the demo request for {asked.controller}/{asked.member_id} sets no legal hold")
    return ["hold", asked.controller, asked.member_id, "--system", legal.system, "--category", legal.category,
            "--reason", legal.reason, "--by", legal.set_by, "--until", (today + timedelta(days=legal.days)).isoformat()]


async def set_legal_hold(stack: Stack, asked: DemoRequest, today: date) -> str:
    """Set the request's legal hold as a person would, with `slett hold` in the stack's environment; what it said."""
    arguments = hold_arguments(asked, today)
    done = await asyncio.to_thread(subprocess.run, [str(EXE / "slett"), *arguments], env=stack.env,
                                   capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"slett hold failed ({done.returncode}): {done.stdout}{done.stderr}")
    return f"slett {' '.join(arguments[:3])} ...: {done.stdout.strip()}"


async def letters(request_id: str, folder: Path) -> str:
    """A request's acknowledgment and answer in Norwegian, as `slett letter` prints them; both languages saved under
    `folder`, one file per letter."""
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for kind in LETTERS:
        letter = await read_letter(request_id, kind)
        if letter is None:
            shown.append(f"no {kind} letter for request {request_id}")
            continue
        path = folder / f"{request_id}-{kind}.md"
        path.write_text(letter)
        norwegian = letter.partition("\n---\n")[0].strip()
        shown.append(f"--- {kind} (nb; nb and en in {path}; `slett letter {request_id} --kind {kind}`)\n{norwegian}")
    return "\n".join(shown)


async def changed_by_calls(sandbox: httpx.AsyncClient, member_id: str) -> str:
    """What the processors' journal says was changed for a member: the calls that applied, or none."""
    calls = (await sandbox.get(f"/_sandbox/calls/{member_id}")).json()["calls"]
    applied = [f"{c['system']} {c['action']}" for c in calls if c["applied"]]
    return f"calls that changed anything at a processor: {', '.join(applied) or 'none'}"


async def sealed(ledger_url: str, request_id: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A request's evidence as its ledger sealed it, per processor and category, and its holds' newest rows."""
    ledger = await open_ledger(ledger_url)
    try:
        erasures = [r for r in await ledger.records(request_id=request_id) if r.kind in ANSWERS]
        states = await ledger.hold_states([request_id])
    finally:
        await ledger.dispose()
    steps = erasures[-1].sealed.body["evidence"]["steps"] if erasures else []
    rows = [{**{c: _cell(step.get(c)) for c in COLUMNS},
             "categories": "; ".join(CategoryResult(**c).words() for c in step.get("categories") or ())}
            for step in steps]
    holds = [{"system": s.hold.system, "rule": s.hold.rule, "category": s.hold.category or ",".join(s.hold.categories),
              "fields": ", ".join(s.hold.fields) or "(whole)", "retain_until": str(s.hold.retain_until),
              "check_on": _cell(s.hold.check_on), "legal_hold_until": _cell(s.hold.legal_until), "status": s.status}
             for s in states]
    return rows, holds


async def notes(ledger_url: str, request_id: str) -> list[str]:
    """The notes of a request's sealed answer: a legal hold's words (who set it, why, until when), why a membership
    still running kept the rest."""
    ledger = await open_ledger(ledger_url)
    try:
        answers = [r for r in await ledger.records(request_id=request_id) if r.kind in ANSWERS]
    finally:
        await ledger.dispose()
    return [str(note) for note in answers[-1].sealed.body["evidence"].get("notes") or ()] if answers else []


async def suppression(ledger_url: str, request_id: str) -> str:
    """A withdrawal's suppression entry and what it left untouched, as the ledger sealed them."""
    ledger = await open_ledger(ledger_url)
    try:
        rows = await ledger.suppressed(request_id=request_id)
        withdrawals = [r for r in await ledger.records(request_id=request_id) if r.kind == "withdrawal"]
    finally:
        await ledger.dispose()
    untouched = withdrawals[-1].sealed.body["evidence"].get("untouched", []) if withdrawals else []
    entered = ", ".join(f"{row.channel} {row.reference}" for row in rows) or "none"
    return (f"suppression entry in the ledger (keyed HMAC references, never the address or number): {entered}\n"
            f"not touched: {', '.join(untouched)}; the nightly sweep-readded run removes the member if a re-sync "
            "adds them again")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def _see_through(sandbox: httpx.AsyncClient, asked: DemoRequest, request_id: str, run_id: UUID) -> str:
    """Wait for the run; when it suspends, pay the open invoice or confirm the manual step, as asked."""
    key: str | None = None
    while True:
        run = await _next_stop(run_id, key)
        if state_label(run) != "SUSPENDED":
            return state_label(run)
        key = run.state.state_details.pause_key if run.state else None
        step = waiting_for_person(run)
        if step is not None and asked.confirms:
            print(f"{request_id}: waiting for a person to confirm {step}; confirming it as the UI's form would")
            await confirm_step(run, "slett demo", f"{step}: done by hand for the demo", datetime.now(OSLO).date())
        elif step is None and asked.settles:
            print(f"{request_id}: suspended, an invoice is open; paying it in the membership system")
            await sandbox.post(f"/_sandbox/members/{asked.member_id}/settle")
            await _settled(sandbox, asked.member_id)
        else:
            return f"SUSPENDED ({key})"


async def _final_message(run_id: UUID) -> str:
    """The message of the run's final state (why a failed run failed)."""
    run = await wait_for(run_id, FINAL, timeout_s=5)
    return (run.state.message or "") if run.state else ""


async def _next_stop(run_id: UUID, passed_key: str | None, timeout_s: float = 300) -> FlowRun:
    """The run once it has ended or suspended on another key than the one just answered."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = await wait_for(run_id, FINAL | {"SUSPENDED"}, timeout_s=max(1.0, deadline - time.monotonic()))
        key = run.state.state_details.pause_key if run.state else None
        if state_label(run) != "SUSPENDED" or key != passed_key or time.monotonic() > deadline:
            return run
        await asyncio.sleep(1)


def demo_requests() -> list[DemoRequest]:
    """The demo's requests (sandbox/demo_requests.py)."""
    return list(DEMO_REQUESTS)


async def _settled(sandbox: httpx.AsyncClient, member_id: str) -> None:
    """Wait for the invoice.settled webhooks the payment sent; say which runs they resumed."""
    deliveries = (await sandbox.get("/_sandbox/webhooks")).json()["deliveries"]
    for sent in [d for d in deliveries if d["type"] == "invoice.settled" and d["memberId"] == member_id]:
        answer = await delivered(sandbox, sent["webhookId"])
        print(f"invoice.settled {member_id}: resumed {len(answer['resumed'])} run(s)")


def demo(home: Path = PROJECT_ROOT) -> int:
    """Run the demo on a local stack under `home` and stop it again; 0 when every request completed."""
    started = time.monotonic()
    with local_stack(home) as stack:
        print(f"Prefect UI: {stack.ui_url}   receiver: {stack.receiver_url}   sandbox: {stack.sandbox_url}")
        with stack.as_client():
            failures = asyncio.run(run_demo(stack))
        print(f"\nPrefect UI (while running): {stack.ui_url}  ·  database and results under {home / '.prefect'}")
    print(f"demo finished in {time.monotonic() - started:.0f} s; {failures} request(s) not completed")
    return 1 if failures else 0
