"""The chaos suite: erasure requests while processors fail and slow down, flow processes and workers are
killed with SIGKILL, and the Prefect server restarts. Every request must end as its policy says or stop
visibly with a reason; none lost, no destructive call applied twice, every Retry-After honoured.

    python -m benchmarks.chaos                      # make chaos: 300 requests, 20 kills, writes chaos.json
    python -m benchmarks.chaos --requests 12 --kills 3 --out /tmp/chaos.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings

from benchmarks.killer import AFTER_APPLY, IN_STEP, WORKER, Killer
from benchmarks.pii import Needles, scan_files, scan_rows
from benchmarks.stack import ProcessMeter, ProofStack, proof_stack, register
from benchmarks.tally import NOT_SENT, Ask, Ending, ending, expected_outcomes
from config.deployments import ESCALATED
from evidence.ledger import open_ledger
from evidence.verify import verify_records
from queries.runs import ResumeRefused, resume_settled, resume_with, start_erasure
from sandbox.people import COURSE_ENDED
from sandbox.world import Sandbox

HERE = Path(__file__).resolve().parent
DEPLOYED = ("erase-member", "release-holds", "recover-crashed")
# The mix: 20% 500s, 10% 429 or 503 with Retry-After, 5% dropped connections (half of them
# "lost": applied, then the answer dropped), 0-2 s latency on every call.
FAULTS: dict[str, Any] = {"error_rate": 0.20, "throttle_rate": 0.10, "drop_rate": 0.025, "lost_rate": 0.025,
                          "retry_after": 2}
# Member kinds per chain: (profile, weight, sandbox.add_member options). Open invoices are paid and
# manual steps (suppliers with no API) confirmed by the suite, as the membership system and an operator would.
PROFILES: dict[str, list[tuple[str, int, dict[str, Any]]]] = {
    "demo": [("settled", 5, {}), ("journal", 2, {"journal": True}), ("open-invoice", 2, {"open_invoice": True}),
             ("partly-absent", 1, {"absent_from": ["ibooking", "mailchimp"]})],
    "k24": [("settled", 2, {}), ("journal", 1, {"journal": True}), ("open-invoice", 1, {"open_invoice": True})],
    "aktiv365": [("settled", 2, {}), ("open-invoice", 1, {"open_invoice": True})],
    "spenst": [("settled", 2, {})],
    "mova": [("settled", 1, {}), ("journal", 1, {"journal": True})],
    "vekstly": [("course-ended", 2, {"course_end": COURSE_ENDED})],
}
CONFIRMATION = {"confirmed_by": "chaos operator", "what_was_done": "deleted at the supplier"}
# Patience with processors under this much failure: 0.35 ** 8, so about 1 call in 4,000 runs out of tries.
RESUMED_LOOK_S = 1.0  # after a round that resumed runs: their next suspension is answered this soon
PROCESSOR_PATIENCE = {"MAX_ATTEMPTS": "8", "MAX_DELAY_S": "10", "TOTAL_RETRY_S": "90", "READ_TIMEOUT": "10"}


def say(text: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(f"[chaos {datetime.now(UTC):%H:%M:%S}] {text}\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Plan:
    """What one chaos run does."""

    requests: int = 300
    kills: int = 20
    server_restarts: int = 1
    budget_s: float = 720.0  # from the start, stack included; counting, scanning and stopping take the rest
    # A worker runs its flow runs in its own process and a kill takes them all: four workers of ten runs
    # each lose ten at most, as four machines would.
    workers: int = 4
    worker_limit: int = 10
    db: str = "auto"
    messaging: str = "auto"  # the server split in API and services over Redis, when Redis answers
    seed: int = 6
    silence_s: int = 120
    # recover-crashed's budget of fruitless crashes. Production's 3 assumes a worker dies now and then; here one
    # dies every 20 s or so, and a run inside a long step (a call retried through the fault mix, a job polled)
    # can lose four workers in a row before it finishes a step. A run that kills its worker itself still ends
    # escalated, after 7 crashes in place of 4.
    crash_budget: int = 6
    # A run set Pending by a worker killed before it labelled the run (one API call later) waits for the sweep:
    # within the budget, after the last kill at 60% of it. A run is Pending here for a second or two at most.
    stuck_pending_s: int = 150
    latency_s: float = 2.0
    chains: str = "all"
    api_logs: bool = True
    kill_gap_s: float | None = None  # by default the kills fill 60% of the budget, 30 s apart at most
    poll_s: float = 5.0

    def gap_s(self) -> float:
        """Seconds between two kills."""
        if self.kill_gap_s is not None:
            return self.kill_gap_s
        return min(30.0, self.budget_s * 0.6 / max(1, self.kills))

    def kill_kinds(self) -> list[str]:
        """The kills in the order they come: about 2 in 5 after an applied call, 2 in 5 in a step, 1 in 5 a worker."""
        workers = max(1, self.kills // 5) if self.kills >= 3 else 0
        after = (self.kills - workers + 1) // 2
        kinds = [AFTER_APPLY] * after + [IN_STEP] * (self.kills - workers - after) + [WORKER] * workers
        random.Random(self.seed).shuffle(kinds)
        return kinds


@dataclass
class Progress:
    """What happened during the run, besides the requests' own endings."""

    resumed: int = 0
    errors: int = 0
    restarts: int = 0
    downtime_s: float = 0.0
    steps_hit: set[str] = field(default_factory=set)
    worker_exits: Counter[str] = field(default_factory=Counter)


def population(sandbox: Sandbox, plan: Plan) -> list[Ask]:
    """The members to erase, drawn by weight from each chain's kinds of member, half terminations."""
    rng = random.Random(plan.seed)
    chains = list(PROFILES) if plan.chains == "all" else plan.chains.split(",")
    kinds = [(chain, name, options) for chain in chains
             for name, weight, options in PROFILES[chain] for _ in range(weight)]
    asks = []
    for number in range(plan.requests):
        chain, profile, options = kinds[number % len(kinds)] if number < len(kinds) else rng.choice(kinds)
        member = sandbox.add_member(chain=chain, **options)
        kind = "termination" if number % 2 == 0 else "erasure"
        asks.append(Ask(f"chaos-{plan.seed}-{number:04d}", chain, member.member_id, kind, profile))
    return asks


def break_processors(sandbox: Sandbox, latency_s: float) -> None:
    """Every processor gets the fault mix; half answer a throttle with 429, half with 503."""
    for number, faults in enumerate(sandbox.faults.values()):
        faults.configure(**FAULTS, latency=(0.0, latency_s), throttle_status=429 if number % 2 == 0 else 503)


async def read_runs(run_ids: list[UUID]) -> dict[UUID, FlowRun]:
    """The current flow runs, by id (200 a call: the API's page limit)."""
    found: dict[UUID, FlowRun] = {}
    async with get_client() as client:
        for start in range(0, len(run_ids), 200):
            chunk = run_ids[start:start + 200]
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)),
                                               limit=len(chunk))
            found.update({run.id: run for run in runs})
    return found


def done_with(run: FlowRun) -> bool:
    """Whether a run is done with: final, and if Crashed, escalated rather than waiting for its rerun."""
    return bool(run.state and run.state.is_final() and (not run.state.is_crashed() or ESCALATED in run.tags))


def waiting_for(run: FlowRun) -> str:
    """What a suspended run waits for: "settlement-<n>", "confirm-<step>"; empty when it does not wait."""
    if not (run.state and run.state.name == "Suspended"):
        return ""
    return str(run.state.state_details.pause_key or "")


async def answer_waiting(runs: dict[UUID, FlowRun], asks: dict[UUID, Ask], sandbox: Sandbox) -> int:
    """Pay the invoice of each run waiting for settlement, confirm each manual step; how many resumed."""
    resumed = 0
    for run_id, run in runs.items():
        key = waiting_for(run)
        try:
            if key.startswith("settlement") and asks[run_id].profile == "open-invoice":
                sandbox.settle(asks[run_id].member_id)
                await resume_settled(run, confirmed_by="chaos suite")
            elif key.startswith("confirm-"):
                await resume_with(run_id, {**CONFIRMATION, "done_on": date.today().isoformat()})
            else:
                continue
        except PrefectHTTPStatusError as error:  # 409: answered already, the state we read was stale
            say(f"resume of {asks[run_id].request_id} refused ({error.response.status_code}); next round")
            continue
        except ResumeRefused as refused:  # not paused any more (a stale read), or a form it cannot take
            say(f"resume of {asks[run_id].request_id} refused ({refused}); next round")
            continue
        resumed += 1
    return resumed


def next_look_s(plan: Plan, resumed: int) -> float:
    """Seconds until the suite looks at the runs again: soon after a round that resumed runs, else a poll."""
    return min(plan.poll_s, RESUMED_LOOK_S) if resumed else plan.poll_s


async def kill(killer: Killer, kind: str, running: list[UUID], steps_hit: set[str]) -> bool:
    """One planned kill (an after-apply kill is armed, and lands on the next applied call); whether it went."""
    if kind == AFTER_APPLY:
        killer.arm_after_apply()
        return True
    if kind == IN_STEP:
        return await killer.kill_in_step(running, steps_hit)  # False: the run ended under our hands
    await killer.kill_worker()
    return True


async def send(unsent: list[Ask], runs: dict[UUID, FlowRun], plan: Plan, by_run: dict[UUID, Ask],
               killer: Killer) -> list[Ask]:
    """Start the next requests, as webhooks would bring them: never more waiting to start than the workers
    have slots, so a resumed or recovered run is not queued behind the whole backlog; the rest."""
    queued = sum(1 for run in runs.values() if run.state and (run.state.is_scheduled() or run.state.is_pending()))
    batch = unsent[:max(0, plan.workers * plan.worker_limit - queued)]
    started = await asyncio.gather(*(start_erasure(a.controller, a.member_id, a.kind, a.request_id, tags=("chaos",))
                                     for a in batch))
    for run, ask in zip(started, batch, strict=True):
        by_run[run.id] = ask
        killer.runs_by_member[ask.member_id] = run.id
    if batch:
        say(f"{len(batch)} requests sent, {len(unsent) - len(batch)} to come")
    return unsent[len(batch):]


async def drive(plan: Plan, stack: ProofStack, sandbox: Sandbox, asks: list[Ask], needles: Needles,
                started: float) -> dict[str, Any]:
    """Send the requests, kill on plan, pay open invoices, wait for every request; the figures."""
    await register(DEPLOYED, plan.silence_s, stuck_pending_s=plan.stuck_pending_s, crash_budget=plan.crash_budget)
    break_processors(sandbox, plan.latency_s)
    by_run: dict[UUID, Ask] = {}
    unsent = list(asks)
    killer = Killer(stack, sandbox.journal, {}, random.Random(plan.seed))
    progress = Progress()
    # Kills come early enough that every affected request has time to be recovered and finish; the server
    # restarts once half of them are done (or at 30% of the budget), while runs are still in flight.
    plan_kills, gap = plan.kill_kinds(), plan.gap_s()
    restart_at, restart_after_kills = started + plan.budget_s * 0.3, (plan.kills + 1) // 2
    last_kill, deadline = 0.0, started + plan.budget_s
    done: dict[UUID, FlowRun] = {}  # runs done with change no more: not read again (the server is busy enough)
    resumed = 0
    while time.monotonic() < deadline:
        try:
            runs = {**done, **await read_runs([run_id for run_id in by_run if run_id not in done])}
        except Exception as error:  # the server may be restarting: try again shortly
            say(f"Prefect API unavailable ({type(error).__name__}); waiting")
            await asyncio.sleep(2)
            continue
        done = {run_id: run for run_id, run in runs.items() if done_with(run)}
        running = [run_id for run_id, run in runs.items() if run.state and run.state.is_running()]
        try:
            unsent = await send(unsent, runs, plan, by_run, killer)
            resumed = await answer_waiting(runs, by_run, sandbox)
            progress.resumed += resumed
            due = plan_kills and running and time.monotonic() - last_kill > gap and not killer.armed
            if due and await kill(killer, plan_kills[0], running, progress.steps_hit):
                plan_kills.pop(0)
                last_kill = time.monotonic()
        except Exception as error:  # the suite survives the chaos it makes; counted, and tried again
            progress.errors += 1
            say(f"round failed ({type(error).__name__}: {str(error)[:120]}); next round")
        for name, why in stack.restart_exited_workers().items():
            say(f"{name} exited by itself ({why[:160]}); started again")
            progress.worker_exits[why] += 1
        restart_due = time.monotonic() > restart_at or killer.kills >= restart_after_kills
        if progress.restarts < plan.server_restarts and restart_due and running:
            say("restarting the Prefect server (kill -9, start again)")
            progress.downtime_s += await asyncio.to_thread(stack.restart_server)
            progress.restarts += 1
        states = Counter(run.state.name if run.state else "?" for run in runs.values())
        say(f"{dict(states)}; kills {killer.kills}/{plan.kills}")
        if not unsent and len(runs) == len(by_run) and all(map(done_with, runs.values())):
            if plan_kills or killer.armed:  # nothing left to kill: the figures say how many kills landed
                say(f"every request ended with {len(plan_kills)} kill(s) still planned")
            break
        # A resumed run is back within seconds, often suspended for its next person's step: looked at again soon,
        # as an operator working through a queue would, rather than a whole round later.
        await asyncio.sleep(next_look_s(plan, resumed))
    return await figures(plan, sandbox, needles, by_run, killer, progress, started, unsent)


async def figures(plan: Plan, sandbox: Sandbox, needles: Needles, by_run: dict[UUID, Ask], killer: Killer,
                  progress: Progress, started: float, unsent: list[Ask]) -> dict[str, Any]:
    """Read every request's ending back and count what the issue asks for; a request never sent counts as
    unfinished."""
    gate = asyncio.Semaphore(10)

    async def one(run_id: UUID, ask: Ask) -> Ending:
        async with gate:
            return await ending(ask, run_id)

    endings = list(await asyncio.gather(*(one(run_id, ask) for run_id, ask in by_run.items())))
    endings += [Ending(ask, NOT_SENT, "", 0, False, ()) for ask in unsent]
    affected = {by_run[run].request_id for run in killer.killed_runs if run in by_run} | {
        e.ask.request_id for e in endings if e.crashes}
    expected = expected_outcomes(endings, affected)
    mismatched = [e.ask.request_id for e in endings if e.completed and e.outcome != expected.get(e.ask.group)]
    members = {ask.member_id for ask in by_run.values()}
    twice = {where: count for where, count in sandbox.journal.applied_twice().items() if where[0] in members}
    throttles = [t for faults in sandbox.faults.values() for t in faults.throttles if t.waited is not None]
    injected: Counter[str] = Counter()
    for faults in sandbox.faults.values():
        injected.update(faults.injected)
    lost = [e for e in endings if not e.visible and not e.in_hand]
    unfinished = [e for e in endings if e.in_hand]
    failed = [e for e in endings if e.visible and not e.completed]
    return {
        "requests": len(endings),
        "chains": dict(Counter(ask.controller for ask in by_run.values())),
        "profiles": dict(Counter(ask.profile for ask in by_run.values())),
        "faults_injected": dict(sorted(injected.items())),
        "fault_mix": {**FAULTS, "latency_s": [0.0, plan.latency_s], "throttle_status": "429 or 503"},
        "kills": killer.kills,
        "kills_by_step": dict(sorted(killer.by_step.items())),
        "server_restarts": progress.restarts,
        "server_downtime_s": round(progress.downtime_s, 1),
        "worker_exits": dict(progress.worker_exits),
        "affected": len(affected),
        "recovered": sum(1 for e in endings if e.ask.request_id in affected and e.completed
                         and e.ask.request_id not in mismatched),
        "completed": sum(1 for e in endings if e.completed),
        "escalated": len(failed),
        "escalation_reasons": dict(Counter(reason_of(e, needles) for e in failed)),
        "lost": len(lost),
        "lost_requests": {e.ask.request_id: e.state for e in lost},
        "unfinished_at_deadline": dict(Counter(e.state for e in unfinished)),
        "duplicated_harm": sum(count - 1 for count in twice.values()),
        "retry_after_checked": len(throttles),
        "retry_after_violations": sum(1 for t in throttles if t.violated),
        "shortest_wait_over_retry_after_s": round(min((t.waited or 0) - t.retry_after for t in throttles), 3)
        if throttles else None,
        "outcome_mismatches": len(mismatched),
        "outcome_differences": {e.ask.request_id: _difference(expected.get(e.ask.group, ()), e.outcome)
                                for e in endings if e.ask.request_id in mismatched},
        "resumed_after_payment_or_confirmation": progress.resumed,
        "suite_rounds_failed": progress.errors,
        "duration_s": round(time.monotonic() - started, 1),
        "plan": asdict(plan),
    }


def _difference(expected: tuple[tuple[str, ...], ...], got: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """The evidence rows (system, action, status, verified, retain-until) one side has and the other lacks."""
    return {"expected_only": [list(row) for row in expected if row not in got],
            "got_only": [list(row) for row in got if row not in expected]}


def reason_of(end: Ending, needles: Needles) -> str:
    """Why a request stopped: what it waits for, or its state's message (first line), unless it names a member."""
    if end.waiting_for:
        return f"{end.state}: waiting for {end.waiting_for}"
    # The state's message is what the run history shows an operator; a reason is useless without its words
    # (a bare "RuntimeError" could not be traced). It is checked against every member's data all the same.
    words = (end.message or end.state).splitlines()[0][:200]
    if needles.found_in(words.encode()):
        words = "(message withheld: it holds a member's personal data)"
    return f"{end.state}: {words}"


def run_chaos(plan: Plan, keep_home: bool = False) -> dict[str, Any]:
    """Run the suite on a fresh stack and stop everything it started, whatever happens."""
    started = time.monotonic()
    sandbox = Sandbox(seed=plan.seed)
    settings = {f"SLETT_PROCESSORS__{system.upper()}__{name}": value
                for system in sandbox.apps for name, value in PROCESSOR_PATIENCE.items()}
    settings["SLETT_JOB_POLL_INTERVAL_S"] = "1"
    if not plan.api_logs:
        # The flow runs' log lines then stay in the workers' logs (scanned for personal data all the same);
        # on a small machine the server's log intake competes with the orchestration under test.
        settings["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
    with proof_stack(sandbox, plan.workers, plan.worker_limit, plan.db, settings, keep_home,
                     messaging=plan.messaging) as stack:
        say(f"stack up: Prefect API {stack.api_url}, {plan.workers} workers, database {plan.db}, "
            f"{'API and services apart, Redis between them' if stack.split else 'one server process'}")
        with temporary_settings(updates={PREFECT_API_URL: stack.api_url}), ProcessMeter(stack) as meter:
            asks = population(sandbox, plan)
            # Every member's name, e-mail, phone and address, indexed once: for the reasons and the leftovers.
            needles = Needles(sorted(sandbox.all_personal_values()))
            result = asyncio.run(drive(plan, stack, sandbox, asks, needles, started))
        # Each worker runs hundreds of flow runs in one process: what it held at most, across its restarts.
        result["peak_rss_mb"] = {role: round(mb, 1) for role, mb in sorted(meter.peaks.items())}
        # What the run cost, by role: on a small machine the proof is CPU-bound, and this says where it went.
        result["cpu_s"] = {role: round(seconds, 1) for role, seconds in sorted(meter.cpu_s.items())}
        result.update(left_behind(stack, needles))
        result["ledger"] = asyncio.run(ledger_verdict(stack.env["SLETT_LEDGER_URL"]))
        result["database"] = stack.database_url.split(":", 1)[0].split("+", 1)[0]  # what "auto" chose
        result["server"] = "api and services over redis" if stack.split else "one process"
        return result


async def ledger_verdict(url: str) -> dict[str, Any]:
    """The ledger's chains verified after the kills (a worker killed mid-write must leave them intact)."""
    reports = verify_records(await (await open_ledger(url)).records(with_holds=True))
    problems = [f"{r.controller}: request {p.request_id}: {p.reason}" for r in reports for p in r.problems]
    return {"chains": len(reports), "records": sum(r.records for r in reports), "intact": not problems,
            "problems": problems[:10]}


def left_behind(stack: ProofStack, needles: Needles) -> dict[str, Any]:
    """Every member's personal data looked for in the database, result storage and every process's log."""
    hits = scan_files([stack.home], needles) + asyncio.run(scan_rows(stack.database_url, needles))
    places = sorted({hit.path.replace(str(stack.home), "<stack home>") for hit in hits})
    return {"pii_hits": len(hits), "pii_places": places}


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds through the stack's clean-up


def main(argv: list[str] | None = None) -> int:
    """Run the chaos suite and write its figures; 1 when a request was lost or harm was done twice."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.split("\n")[0])
    defaults = Plan()
    for name in ("requests", "kills", "server_restarts", "workers", "worker_limit", "seed", "silence_s", "crash_budget",
                 "stuck_pending_s"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    parser.add_argument("--budget-s", type=float, default=defaults.budget_s)
    parser.add_argument("--kill-gap-s", type=float, default=defaults.kill_gap_s, help="seconds between kills")
    parser.add_argument("--poll-s", type=float, default=defaults.poll_s, help="seconds between two looks at the runs")
    parser.add_argument("--latency-s", type=float, default=defaults.latency_s, help="most latency per call")
    parser.add_argument("--db", choices=("sqlite", "postgres", "auto"), default=defaults.db)
    parser.add_argument("--messaging", choices=("redis", "none", "auto"), default=defaults.messaging,
                        help="split a PostgreSQL-backed server in API and services over Redis")
    parser.add_argument("--chains", default=defaults.chains, help=f"all, or some of {','.join(PROFILES)}")
    parser.add_argument("--out", type=Path, default=HERE / "chaos.json")
    parser.add_argument("--no-api-logs", dest="api_logs", action="store_false",
                        help="keep flow-run logs in the workers' output, not the Prefect API")
    parser.add_argument("--keep-home", action="store_true", help="keep the stack's logs and Prefect home")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    plan = Plan(**{k: v for k, v in vars(args).items() if k not in ("out", "keep_home")})
    result = run_chaos(plan, args.keep_home)
    result["command"] = "python -m benchmarks.chaos " + " ".join(argv if argv is not None else sys.argv[1:])
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    say(json.dumps({k: result[k] for k in ("requests", "kills", "recovered", "completed", "escalated", "lost",
                                          "duplicated_harm", "retry_after_violations", "pii_hits", "ledger")}))
    broken = (result["lost"] or result["duplicated_harm"] or result["retry_after_violations"] or result["pii_hits"]
              or not result["ledger"]["intact"])
    return 1 if broken or result["unfinished_at_deadline"] or result["outcome_mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
