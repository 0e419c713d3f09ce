"""The evidence-report flow: the register compiled on a run, left as artifacts and written as files."""

from __future__ import annotations

import csv
import json

import pytest
from prefect import get_client

from flows.evidence_report import evidence_report
from queries.history import latest_artifact

pytestmark = pytest.mark.slow


async def test_report_run_leaves_the_register_and_writes_its_files(scenario, tmp_path):
    """The flow compiles today's requests, leaves a summary with the four sections and a table of requests
    on its run, and writes JSON, CSV and HTML files that agree with its counts."""
    counts = await evidence_report(since=scenario.started.date(), controller="demo", out_dir=str(tmp_path))

    [written] = tmp_path.glob("register-demo-*.json")
    register = json.loads(written.read_text(encoding="utf-8"))
    rows = list(csv.DictReader(written.with_suffix(".csv").open(encoding="utf-8")))
    html = written.with_suffix(".html").read_text(encoding="utf-8")
    async with get_client() as client:
        summary = await latest_artifact(client, "register-demo")
        table = await latest_artifact(client, "register-demo-requests")
    assert summary is not None and table is not None
    assert counts == register["counts"]
    assert set(scenario.ids.values()) <= {entry["request_id"] for entry in register["requests"]}
    assert len(register["requests"]) == len(rows) == len(json.loads(str(table.data))) == counts["requests"]
    assert "Erasure register · Demo Trening AS" in html
    for section in ("## Past or within 7 days of the deadline", "## Active holds by release date",
                    "## Manual steps waiting", "## Failures"):
        assert section in str(summary.data)
    assert scenario.ids["person"] in str(summary.data) and scenario.ids["failed"] in str(summary.data)
