"""Profiles for `python -m benchmarks.bench --profile DIR`: pyinstrument around the processes that set the
pace (the webhook receiver, and the flow-run processes of single erasures and of the bulk purge).

pyinstrument samples inside the process and, in async code, charges the time a coroutine waits to the
line that awaits, so a profile shows which call the time went to: Prefect's API, a processor, Python.
(py-spy cannot read this interpreter's memory from outside here, so it is not used.)
"""

from __future__ import annotations

import io
import pstats
import sys
from pathlib import Path

PYTHON = sys.executable


def wrapped(module: str, out: Path | None) -> list[str]:
    """`python -m <module>`, under pyinstrument writing a text profile to `out` when one is asked for."""
    if out is None:
        return [PYTHON, "-m", module]
    out.parent.mkdir(parents=True, exist_ok=True)
    return [PYTHON, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(out), "-m", module]


def engine_command(out: Path | None) -> str:
    """The work pool's command for a flow run: Prefect's engine, profiled into `out` if given."""
    return " ".join(wrapped("prefect.engine", out))


def summary(path: Path, lines: int = 40) -> list[str]:
    """The top of a pyinstrument text profile: where the sampled wall time went."""
    if not path.exists():
        return []
    return [line.rstrip() for line in path.read_text().splitlines() if line.strip()][:lines]


def cpu_summary(path: Path, lines: int = 40) -> list[str]:
    """The functions a cProfile profile (benchmarks/cprofiled.py) spent most time in, callees included."""
    if not path.exists():
        return []
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("cumulative").print_stats(lines)
    return [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
