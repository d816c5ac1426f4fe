"""Where a simulation's time and memory go: `recon simulate` with each phase timed.

Runs :func:`recon.simulate.run.simulate` in this process with its phases wrapped (building or
evolving the directory, the targets' syncs, each export with its rendering and truth views, the
IdP's delta, each findings call) and prints one line per phase: wall seconds, process CPU
seconds (the Parquet encoding threads included), the main thread's CPU seconds (what wall
time is made of on a quiet machine, the other threads overlapping it) and the resident set
size at its end, with the largest RSS sampled (every 50 ms) during the phase. The output
folder is the one the plain command writes (the wrappers only measure).

    python benchmarks/simulate_phases.py --out /tmp/sim --users 100000 --cycles 2
    PYTHONPATH=/work/wt/base5c0 python -P benchmarks/simulate_phases.py ...   # another checkout
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

_PAGE = 4096


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


class _Phases:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_mib())

    def wrap(self, label: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
            self.peak = _rss_mib()
            try:
                return function(*args, **kwargs)
            finally:
                row = {
                    "phase": label(*args, **kwargs),
                    "wall_s": round(time.perf_counter() - wall, 2),
                    "cpu_s": round(time.process_time() - cpu, 2),
                    "main_cpu_s": round(time.thread_time() - main, 2),
                    "rss_end_mib": round(_rss_mib()),
                    "rss_peak_mib": round(max(self.peak, _rss_mib())),
                    "arrow_mib": round(pa.total_allocated_bytes() / 2**20),
                    "arrow_peak_mib": round(pa.default_memory_pool().max_memory() / 2**20),
                }
                self.rows.append(row)
                print(json.dumps(row), flush=True)

        return timed

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="typical")
    args = parser.parse_args()

    from recon.simulate import run, sync
    from recon.simulate.directory import Directory

    phases = _Phases()
    run.Directory.build = phases.wrap(lambda *a, **k: "build the directory", Directory.build)  # type: ignore[method-assign]
    run.Directory.evolve = phases.wrap(lambda *a, **k: "evolve the directory", Directory.evolve)  # type: ignore[method-assign]
    sync.Target.initial = phases.wrap(lambda t, *a, **k: f"sync {t.name} (initial)", sync.Target.initial)  # type: ignore[method-assign]
    sync.Target.sync = phases.wrap(lambda t, *a, **k: f"sync {t.name}", sync.Target.sync)  # type: ignore[method-assign]
    run._Writer.export = phases.wrap(  # type: ignore[method-assign]
        lambda w, system, cycle_time, kind, *a, **k: f"export {system} {kind} (render, write, views)",
        run._Writer.export,
    )
    run.findings = phases.wrap(lambda *a, **k: "findings", run.findings)
    run.delta_findings = phases.wrap(lambda *a, **k: "delta findings", run.delta_findings)
    run._Run.finish = phases.wrap(lambda *a, **k: "leavers, simulation.json", run._Run.finish)  # type: ignore[method-assign]
    shutil.rmtree(args.out, ignore_errors=True)
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    run.simulate(args.out, users=args.users, cycles=args.cycles, seed=args.seed, profile=args.profile)
    phases.stop()
    total = {"phase": "total", "wall_s": round(time.perf_counter() - wall, 2)}
    total["cpu_s"] = round(time.process_time() - cpu, 2)
    total["main_cpu_s"] = round(time.thread_time() - main, 2)
    total["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(total), flush=True)


if __name__ == "__main__":
    main()
