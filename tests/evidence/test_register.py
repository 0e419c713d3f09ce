"""`slett evidence` compiles the register from the session's runs: JSON, CSV, one request's table."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Any

import pytest

from cli.main import main
from config.dates import gdpr_deadline
from flows.manual_steps import confirmation_key

pytestmark = pytest.mark.slow


def window(scenario) -> list[str]:
    return ["--since", scenario.started.isoformat(), "--until", scenario.ended.isoformat()]


async def slett(*args: str) -> int:
    """Run the command line as a person would, in its own thread (it starts its own event loop)."""
    return await asyncio.to_thread(main, list(args))


async def register_json(scenario, capsys, *extra: str) -> dict[str, Any]:
    assert 0 == await slett("evidence", *window(scenario), "--format", "json", *extra)
    register: dict[str, Any] = json.loads(capsys.readouterr().out)
    return register


def by_id(register: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["request_id"]: entry for entry in register["requests"]}


async def test_register_has_one_entry_per_request_with_its_status(scenario, capsys):
    """Each request made in the window is one entry, its status read from its newest run's state."""
    register = await register_json(scenario, capsys)

    statuses = {name: by_id(register)[request_id]["status"] for name, request_id in scenario.ids.items()}
    assert {"done": "done", "settlement": "waiting for settlement", "failed": "failed",
            "person": "waiting for a person", "queued": "in progress"} == statuses
    assert {"requests": 5, "done": 1, "in progress": 1, "waiting for settlement": 1, "waiting for a person": 1,
            "failed": 1, "overdue": 0, "due within 7 days": 0} == {
        k: register["counts"][k] for k in ("requests", "done", "in progress", "waiting for settlement",
                                          "waiting for a person", "failed", "overdue", "due within 7 days")}


async def test_done_entry_carries_every_processor_outcome(scenario, capsys):
    """A finished request shows subject reference, dates, and per processor action, status, basis,
    retain-until, reference and verified, as its run returned them."""
    evidence = await scenario.done.result()

    entry = by_id(await register_json(scenario, capsys))[scenario.ids["done"]]

    assert (evidence.request.subject_ref, "demo", "Demo Trening AS", "erasure") == (
        entry["subject_ref"], entry["controller"], entry["chain"], entry["kind"])
    assert (evidence.request.received.isoformat(), evidence.request.deadline.isoformat()) == (
        entry["received"], entry["deadline"])
    assert evidence.finished.isoformat() == entry["finished"]
    expected = [{"system": s.system, "action": s.action, "status": s.status, "basis": s.basis,
                 "retain_until": s.retain_until.isoformat() if s.retain_until else None,
                 "reference": s.reference, "verified": s.verified} for s in evidence.steps]
    assert expected == [{k: p[k] for k in expected[0]} for p in entry["processors"]]
    assert entry["digest"] is not None and len(entry["digest"]) == 64


async def test_extension_shows_the_new_date_and_its_reason(scenario, capsys):
    """An extended request's deadline is the three-month date, with the reason the DPO gave."""
    entry = by_id(await register_json(scenario, capsys))[scenario.ids["settlement"]]

    assert gdpr_deadline(scenario.started.date(), extended=True).isoformat() == entry["deadline"]
    assert scenario.extension.reason == entry["extension"]["reason"]
    assert scenario.extension.reason in entry["deadline_basis"]
    assert "settlement-1" == entry["waiting_for"]


async def test_sections_list_holds_manual_steps_and_failures(scenario, capsys):
    """The holds section has every hold of the requests by release date; the manual and failure
    sections name the waiting and the failed request, with where it failed."""
    evidence = await scenario.done.result()

    sections = (await register_json(scenario, capsys))["sections"]

    listed = sections["active_holds"]
    held = sorted((h.retain_until.isoformat(), h.system, h.rule) for h in evidence.holds)
    assert held == [(h["retain_until"], h["system"], h["rule"]) for h in listed
                    if h["request_id"] == scenario.ids["done"]]
    # The failed request had already held what it found at Nets and Exceline before it failed.
    assert {scenario.ids["done"], scenario.ids["failed"]} == {h["request_id"] for h in listed}
    assert sorted(h["retain_until"] for h in listed) == [h["retain_until"] for h in listed]
    assert {"held"} == {h["release_state"] for h in listed}
    assert [(scenario.ids["person"], confirmation_key("credicare"))] == [
        (m["request_id"], m["waiting_for"]) for m in sections["manual_steps_waiting"]]
    assert [scenario.ids["failed"]] == [f["request_id"] for f in sections["failures"]]
    assert ["ibooking", "exceline"] == sections["failures"][0]["failed_at"]
    assert [] == sections["deadlines"]


async def test_deadline_section_as_of_a_later_day(scenario, capsys):
    """Counted to the day after the one-month deadline, the open requests are overdue, the extended one is
    not, and the finished one is not listed."""
    day_after = date.fromordinal(scenario.deadline.toordinal() + 1)

    register = await register_json(scenario, capsys, "--today", day_after.isoformat())

    flagged = {d["request_id"]: d["flag"] for d in register["sections"]["deadlines"]}
    assert {scenario.ids[n]: "overdue" for n in ("failed", "person", "queued")} == flagged
    assert (3, 0) == (register["counts"]["overdue"], register["counts"]["due within 7 days"])


async def test_controller_filter_keeps_only_that_chain(scenario, capsys):
    """--controller narrows the register to one chain."""
    assert [] == (await register_json(scenario, capsys, "--controller", "k24"))["requests"]
    assert 5 == len((await register_json(scenario, capsys, "--controller", "demo"))["requests"])


async def test_csv_has_one_row_per_request_and_columns_per_processor(scenario, capsys):
    """The CSV has one row per request and, for each processor, its action, status, basis, retain-until,
    reference and verified as columns."""
    evidence = await scenario.done.result()

    assert 0 == await slett("evidence", *window(scenario), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    assert sorted(scenario.ids.values()) == sorted(row["request_id"] for row in rows)
    done = next(row for row in rows if row["request_id"] == scenario.ids["done"])
    for step in evidence.steps:
        assert (step.action, step.status, "yes") == (
            done[f"{step.system}.action"], done[f"{step.system}.status"], done[f"{step.system}.verified"])
        assert (step.retain_until.isoformat() if step.retain_until else "") == done[f"{step.system}.retain_until"]


async def test_one_request_prints_its_steps_and_holds_from_the_ledger(scenario, capsys):
    """`slett evidence <request>` prints that request's steps as sealed, then each hold's date and state."""
    assert 0 == await slett("evidence", scenario.ids["done"])
    out = capsys.readouterr().out

    assert "exceline" in out and "anonymised" in out
    assert "retain_until" in out and "held" in out and "bookkeeping" in out


async def test_register_names_no_personal_data(scenario, capsys):
    """No name, e-mail, phone or address of any sandbox member appears in the register."""
    text = json.dumps(await register_json(scenario, capsys), ensure_ascii=False)

    assert [] == [value for value in scenario.personal_values if value in text]
