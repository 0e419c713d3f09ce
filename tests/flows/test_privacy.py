"""After real runs, nothing the orchestration keeps holds a member's personal data."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.settings import get_current_settings

from cli.audit import scan, scan_database
from tests.conftest import PREFECT_HOME

pytestmark = pytest.mark.slow


def prefect_database() -> Path:
    """The SQLite file of the session's Prefect test server."""
    url = get_current_settings().server.database.connection_url
    assert url is not None
    return Path(url.get_secret_value().split("///", 1)[1])


async def test_no_personal_data_under_prefect_home_or_in_the_database(sandbox, run_erasure, resume):
    """With every seeded member erased (one suspended and resumed), no name, e-mail, phone or address
    appears in the Prefect database, result storage or logs."""
    for member_id in ("M1001", "M1003", "M1004"):
        assert "COMPLETED" == (await run_erasure(member_id)).state_name
    suspended = await run_erasure("M1002")
    sandbox.settle("M1002")
    assert "COMPLETED" == (await resume(suspended, {"confirmed_by": "audit test"})).state_name
    values = sandbox.all_personal_values()
    database = prefect_database()

    hits = scan([Path(PREFECT_HOME), database, Path(f"{database}-wal")], values)
    rows = await scan_database(f"sqlite+aiosqlite:///{database}", values)

    assert database.stat().st_size > 0
    assert any(Path(PREFECT_HOME, "storage").rglob("*")), "result storage should hold cached task results"
    assert [] == hits
    assert [] == rows


def test_scan_finds_a_planted_value(tmp_path):
    """The scan finds a value in plain, JSON-escaped and lowercased form (so a zero means zero)."""
    (tmp_path / "plain.txt").write_text("x Kari Testesen y")
    (tmp_path / "escaped.json").write_text('{"n": "Torbj\\u00f8rn"}')
    (tmp_path / "lower.log").write_text("kari.testesen@example.no")

    hits = scan([tmp_path], ["Kari Testesen", "Torbjørn", "Kari.Testesen@example.no"])

    assert {("plain.txt", 0), ("escaped.json", 1), ("lower.log", 2)} == {
        (Path(hit.path).name, hit.value_index) for hit in hits}
