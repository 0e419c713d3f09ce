"""The rooms' arrows: what each room may import of slett's own, and that tasks/ holds tasks (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"triggers", "flows", "tasks", "connectors", "evidence", "queries", "domain", "config", "workers",
        "prefect_compat", "cli", "sandbox"}
# The rooms whose arrows the architecture fixes, and the rooms of ours they may import.
MAY_IMPORT = {"config": {"config"}, "evidence": {"evidence", "config", "domain", "queries", "connectors"},
              "connectors": {"connectors", "config"}, "domain": {"domain", "config", "connectors"}}
# The modules of tasks/ that define no task: the package, the name results pickled before look their values up by,
# and the tasks' retry condition.
NOT_TASKS = {"__init__.py", "models.py", "retry.py"}


# The libraries a room never imports: a connector acts without Prefect, a flow orchestrates without HTTP.
NEVER_IMPORTS = {"connectors": {"prefect"}, "flows": {"httpx"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, at its top or inside a function."""
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        packages |= {name.split(".")[0] for name in names}
    return packages


def imported_rooms(path: Path) -> set[str]:
    """The rooms of ours a module imports, at its top or inside a function."""
    return imported_packages(path) & OURS


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_a_room_imports_only_the_rooms_its_arrows_allow(room):
    """config/ imports nothing of ours but config (pure policy arithmetic); evidence/ never imports tasks/ or
    flows/ (the evidence room is read by them, not the other way); connectors/ imports only config (domain imports
    the connector contract); domain/ only config and connectors."""
    wrong = {str(path.relative_to(ROOT)): sorted(imported_rooms(path) - MAY_IMPORT[room])
             for path in sorted((ROOT / room).rglob("*.py"))}

    assert {} == {path: rooms for path, rooms in wrong.items() if rooms}


@pytest.mark.parametrize("room", sorted(NEVER_IMPORTS))
def test_connectors_never_import_prefect_and_flows_never_import_httpx(room):
    """No module of connectors/ imports Prefect, and none of flows/ imports httpx."""
    wrong = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & NEVER_IMPORTS[room])
             for path in sorted((ROOT / room).rglob("*.py"))}

    assert {} == {path: found for path, found in wrong.items() if found}


def decorator_name(decorator: ast.expr) -> str:
    """A decorator's name, called or not: `task` for `@task`, `@task(...)` and `@prefect.task`."""
    named = decorator.func if isinstance(decorator, ast.Call) else decorator
    return named.id if isinstance(named, ast.Name) else named.attr if isinstance(named, ast.Attribute) else ""


def defines_a_task(path: Path) -> bool:
    """Whether a module defines a function decorated as a Prefect task."""
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and any(decorator_name(d) == "task" for d in node.decorator_list)
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def test_every_module_of_tasks_defines_a_prefect_task():
    """Each module in tasks/ defines a Prefect task, but the pickle shim models.py and the tasks' retry condition."""
    without = [path.name for path in sorted((ROOT / "tasks").glob("*.py"))
               if path.name not in NOT_TASKS and not defines_a_task(path)]

    assert [] == without
