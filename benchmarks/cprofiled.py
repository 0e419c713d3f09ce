"""`python -m benchmarks.cprofiled OUT MODULE ARGS...`: run a module as `python -m MODULE ARGS...` under cProfile and
write its profile to OUT when it ends, SIGTERM included (the stack stops its processes so).

cProfile counts every call on the thread that runs the module (the Prefect server's event loop) and times it by that
thread's CPU clock, so a profile shows where the thread's CPU goes, not the time it waited for a core on a busy
machine; it slows the process, so its figures are shares, not seconds. (A coroutine counts a call per resumption.)
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time


def main() -> None:
    """Run the module named on the command line under cProfile; dump the profile however it ends."""
    out, module, *args = sys.argv[1:]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds, so the profile is written
    sys.argv = [module, *args]
    profiler = cProfile.Profile(time.thread_time)
    try:
        profiler.runcall(runpy.run_module, module, run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
