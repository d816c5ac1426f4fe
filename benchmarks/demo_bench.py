"""Benchmark of ``recon demo`` (the README's first command) against the one-minute budget.

    .venv/bin/python benchmarks/demo_bench.py            # 5 runs
    .venv/bin/python benchmarks/demo_bench.py --runs 3

Each run is ``recon demo`` in a fresh process on a fresh data folder (interpreter start included),
timed from outside with its peak RSS. The floor, measured in the same session and interleaved with
the demo runs, is the interpreter starting and importing the CLI (``recon --help``): what any
command pays before it does work. The machine is shared: the load average is recorded with each
run, and the median is the figure to quote. Figures go to ``benchmarks/results/demo.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import machine, measured_in_child, median, versions, write_result  # noqa: E402

BUDGET_S = 60.0
RECON = str(Path(sys.executable).with_name("recon"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    demo: list[float] = []
    floor: list[float] = []
    peaks: list[float] = []
    loads: list[float] = []
    for i in range(args.runs):
        floor.append(measured_in_child([RECON, "--help"]).seconds)
        folder = Path(tempfile.mkdtemp(prefix="recon-demo-bench-"))
        try:
            loads.append(os.getloadavg()[0])
            run = measured_in_child([RECON, "demo", "--data-dir", str(folder / "data")])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        demo.append(run.seconds)
        peaks.append(run.peak_rss_mb)
        print(f"run {i + 1}: {run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB, load {loads[-1]:.1f}")
    met = "yes" if median(demo) < BUDGET_S else "no"
    lines = [
        "# recon demo: wall time against the one-minute budget",
        "",
        f"Machine: {machine()}. Versions: {versions('duckdb', 'polars', 'pyarrow', 'altair')}.",
        f"Runs: {args.runs}, interleaved with the floor (`recon --help`, interpreter start and CLI import).",
        "",
        "| run | demo s | floor s | peak RSS MB | 1-min load at start |",
        "|---|---|---|---|---|",
        *(
            f"| {i + 1} | {d:.1f} | {f:.2f} | {p:,.0f} | {load:.1f} |"
            for i, (d, f, p, load) in enumerate(zip(demo, floor, peaks, loads, strict=True))
        ),
        "",
        f"Median: demo **{median(demo):.1f} s** (budget {BUDGET_S:.0f} s: met {met}), "
        f"floor {median(floor):.2f} s, "
        f"peak RSS {median(peaks):,.0f} MB. The demo's run time follows the machine's load: quote the median "
        "with its load.",
        "",
    ]
    path = write_result("demo", "\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
