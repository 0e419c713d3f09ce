"""The benchmarks: webhook ack latency, single erasure latency, bulk purge against its floor and a plain
baseline, CPU seconds per erasure. Writes benchmarks/results.json and the table in README.md between the
bench markers.

    python -m benchmarks.bench                      # make bench
    python -m benchmarks.bench --only cpu           # CPU seconds per erasure alone (printed, no files written)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import prefect
from prefect.settings import PREFECT_API_URL, temporary_settings

from benchmarks.ack import Load, hammer, handed_over, new_secret, start_receiver
from benchmarks.cpu import CpuLoad, cpu_section
from benchmarks.erasure import single_erasures
from benchmarks.ledger_scale import scale_figure
from benchmarks.profile import cpu_summary, summary
from benchmarks.purge import Bulk, baseline_purge, slett_purge
from benchmarks.rows import prefect_rows
from benchmarks.stack import postgres_reachable, proof_stack, register
from sandbox.server import running_sandbox
from sandbox.world import Sandbox

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
TARGETS = {"webhook_ack_ms p99": 50, "single_erasure_s p95": 10, "bulk_purge ratio": 1.25,
           "ratio_vs_baseline": 1.5, "peak RSS MB (any process)": 1024, "cpu_s_per_erasure": 1.0,
           "scheduled flow runs per request for holds": 0, "ledger due-holds selection s (1M holds)": 2.0,
           "ledger evidence month s (1M holds)": 5.0}
SECTIONS = ("ack", "work", "cpu", "ledger")


def say(text: str) -> None:
    """Progress on stdout, at once."""
    sys.stdout.write(f"[bench {datetime.now(UTC):%H:%M:%S}] {text}\n")
    sys.stdout.flush()


def ack_section(db: str, load: Load, profiles: Path | None) -> dict[str, Any]:
    """The receiver in front of a Prefect server (no workers: the started runs wait, as under a burst)."""
    secret = new_secret()
    with proof_stack(Sandbox(), workers=0, db=db) as stack, \
            temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        asyncio.run(register(("erase-member", "release-holds", "recover-crashed"), 90))
        url = start_receiver(stack, secret, profiles and profiles / "ack-receiver.txt")
        say(f"webhook_ack_ms: {load.rate_per_s:.0f}/s for {load.seconds:.0f} s at {url}")
        pids = {name: stack.processes[name].pid for name in ("server", "receiver")}
        result = asyncio.run(hammer(url, secret, load, pids))
        # The receiver acknowledges from its outbox: every accepted delivery must become a run.
        result["after_load"] = asyncio.run(handed_over(Path(stack.env["SLETT_WEBHOOK_OUTBOX"]), result["accepted"],
                                                       within_s=240))
        say(f"webhook_ack_ms: p99 {result['p99']} ms; after the load {result['after_load']}")
        receiver = stack.processes["receiver"]
        receiver.send_signal(signal.SIGINT)  # a clean stop, so that a profiler writes its profile
        receiver.wait(timeout=60)
        return result


def work_section(db: str, single: int, at_once: int, concurrent: int, bulk: Bulk,
                 profiles: Path | None) -> dict[str, Any]:
    """Single erasures through receiver and workers, then the bulk purge and its baseline, on one stack."""
    secret, sandbox = new_secret(), Sandbox()
    settings = {"SLETT_JOB_POLL_INTERVAL_S": "0.2"}
    with proof_stack(sandbox, workers=2, worker_limit=8, db=db, settings=settings, profiles=profiles) as stack, \
            temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        asyncio.run(register(("erase-member", "release-holds", "recover-crashed", "purge-guests"), 90))
        url = start_receiver(stack, secret)
        say(f"single_erasure_s: {single} settled members, {at_once} at a time, 50 ms per processor call")
        result: dict[str, Any] = {"single_erasure_s": asyncio.run(
            single_erasures(sandbox, url, secret, single, at_once, 0.05))}
        # Measured on the same stack before anything else runs on it: what each of those requests left.
        result["prefect_rows"] = asyncio.run(prefect_rows(stack.api_url, single))
        say(f"prefect_rows per request: {result['prefect_rows']['per_request']}")
        if concurrent:  # no target: how much the same requests slow down when they share the two cores
            say(f"single_erasure_s, concurrently: {single} more, {concurrent} at a time")
            result["single_erasure_s_concurrent"] = asyncio.run(
                single_erasures(sandbox, url, secret, single, concurrent, 0.05))
        workers = [n for n in stack.processes if n.startswith("worker")]
        for name in workers:  # the purge's rate limits go into their environment; a clean stop keeps profiles
            stack.stop_worker(name)
        stack.env.update(bulk.settings())
        for name in workers:
            stack.start_worker(name, "bulk-purge")
        say(f"bulk_purge: {bulk.guests} guests at 3 processors, {bulk.per_second}/s each")
        result["bulk_purge"] = asyncio.run(slett_purge(stack, sandbox, bulk))
    say("baseline: the same purge by a plain asyncio + httpx script")
    fresh = Sandbox()
    with running_sandbox(fresh) as urls:
        result["baseline"] = asyncio.run(baseline_purge(fresh, bulk, urls))
    result["baseline"]["ratio_vs_baseline"] = round(
        result["bulk_purge"]["wall_s"] / result["baseline"]["wall_s"], 3)
    return result


def table(results: dict[str, Any]) -> str:
    """The figures against their targets, as a Markdown table."""
    ack, one, bulk, base, cpu = (results.get(k, {}) for k in ("webhook_ack_ms", "single_erasure_s", "bulk_purge",
                                                              "baseline", "cpu"))
    concurrent = results.get("single_erasure_s_concurrent", {})
    peak = max(bulk.get("peak_rss_mb", {}).values(), default=None)
    rows = results.get("prefect_rows", {}).get("per_request", {})
    held = results.get("prefect_rows", {}).get("scheduled_flow_runs_per_request_for_holds")
    scale = results.get("ledger_scale", {})
    rows = [("webhook_ack_ms p50 / p99", f"{ack.get('p50')} / {ack.get('p99')}", "p99 ≤ 50", ack.get("p99"), 50),
            ("single_erasure_s p50 / p95", f"{one.get('p50')} / {one.get('p95')}", "p95 ≤ 10", one.get("p95"), 10),
            ("single_erasure_s p50 / p95, "
             f"{concurrent.get('at_once')} at a time", f"{concurrent.get('p50')} / {concurrent.get('p95')}",
             "(no target)", None, None),
            ("bulk_purge wall / floor (s)", f"{bulk.get('wall_s')} / {bulk.get('floor_s')}", "ratio ≤ 1.25",
             bulk.get("ratio"), 1.25),
            ("bulk_purge vs baseline (s)", f"{bulk.get('wall_s')} / {base.get('wall_s')}", "ratio ≤ 1.5",
             base.get("ratio_vs_baseline"), 1.5),
            ("peak RSS, any process (MB)", f"{peak}", "≤ 1024", peak, 1024),
            ("CPU-s per erasure, every process (API, services, workers, receiver)",
             f"{cpu.get('cpu_s_per_erasure')} ({cpu.get('erasures')} erasures, {cpu.get('at_once')} at a time)",
             "≤ 1.0", cpu.get("cpu_s_per_erasure"), 1.0),
            ("scheduled flow runs per request for holds", f"{held}", "0", held, 0),
            ("Prefect rows per request: flow runs / task runs / artifacts / logs",
             " / ".join(str(rows.get(k)) for k in ("flow_runs", "task_runs", "artifacts", "logs")), "(no target)",
             None, None),
            (f"ledger, {scale.get('holds')} holds (PostgreSQL): due-holds selection (s)",
             f"{scale.get('due_select_s')}", "≤ 2", scale.get("due_select_s"), 2.0),
            (f"ledger, {scale.get('holds')} holds: `slett evidence --format json`, one chain's month (s)",
             f"{scale.get('evidence_month_s')}", "≤ 5", scale.get("evidence_month_s"), 5.0),
            (f"ledger, {scale.get('holds')} holds: `slett evidence --verify`, whole ledger "
             f"({scale.get('verify_records')} records): s / CPU s / peak RSS MB",
             f"{scale.get('verify_s')} / {scale.get('verify_cpu_s')} / {scale.get('verify_peak_rss_mb')}",
             "(no target)", None, None)]
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for name, measured, target, value, limit in rows:
        met = "-" if limit is None else "not measured" if value is None else ("yes" if value <= limit else "no")
        lines.append(f"| {name} | {measured} | {target} | {met} |")
    lines.append(f"\nMeasured {results.get('finished_at', '')} with `make bench` "
                 f"(task runs for the purge: {bulk.get('task_runs')}); figures in `benchmarks/results.json`.")
    return "\n".join(lines)


def write_table(results: dict[str, Any]) -> None:
    """Replace the table between the bench markers in README.md."""
    text = README.read_text()
    if START not in text or END not in text:
        say(f"README.md has no {START} ... {END} markers; table not written")
        return
    head, rest = text.split(START, 1)
    README.write_text(f"{head}{START}\n{table(results)}\n{END}{rest.split(END, 1)[1]}")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds through the stacks' clean-up


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, write results.json and the README table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "auto"), default="auto")
    parser.add_argument("--ack-rate", type=float, default=100.0)
    parser.add_argument("--ack-seconds", type=float, default=30.0)
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--single-at-once", type=int, default=1, help="a single erasure: one at a time")
    parser.add_argument("--concurrent-at-once", type=int, default=4,
                        help="then the same number again, this many at a time (0: skip)")
    parser.add_argument("--guests", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2.0, help="each processor's rate limit, requests/s")
    parser.add_argument("--cpu-erasures", type=int, default=CpuLoad.erasures, help="erasures counted for the CPU")
    parser.add_argument("--cpu-at-once", type=int, default=CpuLoad.at_once)
    parser.add_argument("--ledger-holds", type=int, default=1_000_000, help="synthetic holds for the ledger's scale")
    parser.add_argument("--only", choices=SECTIONS,
                        help="run one section; its figures are printed, and written only to an --out given")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--into-results", action="store_true",
                        help="with --only: put the section's figures into results.json, the other figures kept")
    parser.add_argument("--profile", type=Path, help="profile receiver and flow runs (pyinstrument) into this folder")
    parser.add_argument("--no-readme", dest="readme", action="store_false", help="leave README.md's table alone")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    results: dict[str, Any] = {}
    if args.only in (None, "ack"):
        results["webhook_ack_ms"] = ack_section(args.db, Load(args.ack_rate, args.ack_seconds), args.profile)
    if args.only in (None, "work"):
        results.update(work_section(args.db, args.single, args.single_at_once, args.concurrent_at_once,
                                    Bulk(args.guests, args.rate), args.profile))
    if args.only in (None, "cpu"):
        say(f"cpu_s_per_erasure: {args.cpu_erasures} settled members, {args.cpu_at_once} at a time, no faults")
        results["cpu"] = cpu_section(args.db, CpuLoad(args.cpu_erasures, args.cpu_at_once), args.profile)
        say(f"cpu_s_per_erasure: {results['cpu']['cpu_s_per_erasure']} ({results['cpu']['by_role']})")
    if args.only in (None, "ledger"):
        if postgres_reachable():
            say(f"ledger_scale: {args.ledger_holds} synthetic holds in a ledger on PostgreSQL")
            results["ledger_scale"] = scale_figure(args.ledger_holds)
        else:
            results["ledger_scale"] = {"not measured": "PostgreSQL is not reachable at 127.0.0.1:5432"}
    if args.profile:
        results["profiles"] = {path.stem: summary(path) for path in sorted(args.profile.glob("*.txt"))}
        results["profiles"].update({path.stem: cpu_summary(path) for path in sorted(args.profile.glob("*.prof"))})
    results["targets"] = TARGETS
    results["took_s"] = round(time.monotonic() - started, 1)
    results["prefect"] = prefect.__version__
    results["command"] = "python -m benchmarks.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = args.out or (None if args.only else HERE / "results.json")
    if out is not None:
        out.write_text(json.dumps(results, indent=2) + "\n")
    if args.only and args.into_results:
        kept = json.loads((HERE / "results.json").read_text())
        measured = {k: v for k, v in results.items()
                    if k not in ("targets", "took_s", "prefect", "command", "finished_at")}
        kept.update({**measured, "targets": TARGETS})
        kept.setdefault("sections_measured_alone", {})[args.only] = {
            "command": results["command"], "finished_at": results["finished_at"], "took_s": results["took_s"]}
        (HERE / "results.json").write_text(json.dumps(kept, indent=2) + "\n")
    if args.readme and not args.only:
        write_table(results)
    say(json.dumps(results, indent=2) if args.only else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
