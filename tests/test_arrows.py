"""The rooms' arrows: what each room may import of slett's own (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"triggers", "flows", "tasks", "connectors", "evidence", "queries", "domain", "config", "workers",
        "prefect_compat", "cli", "sandbox"}
# The rooms whose arrows the architecture fixes, and the rooms of ours they may import.
MAY_IMPORT = {"config": {"config"}, "evidence": {"evidence", "config", "domain", "queries", "connectors"}}


def imported_rooms(path: Path) -> set[str]:
    """The rooms of ours a module imports, at its top or inside a function."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        rooms |= {name.split(".")[0] for name in names} & OURS
    return rooms


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_a_room_imports_only_the_rooms_its_arrows_allow(room):
    """config/ imports nothing of ours but config (pure policy arithmetic); evidence/ never imports tasks/ or
    flows/ (the evidence room is read by them, not the other way)."""
    wrong = {str(path.relative_to(ROOT)): sorted(imported_rooms(path) - MAY_IMPORT[room])
             for path in sorted((ROOT / room).rglob("*.py"))}

    assert {} == {path: rooms for path, rooms in wrong.items() if rooms}
