"""Benchmark: `recon simulate` at demo scale and at 1M users x 2 cycles (issue 20: <= 300 s, <= 3 GB).

Each simulation runs in its own child process (wall time, CPU time and the child's peak RSS).
The floor, measured in the same run on the same output, is the mandated write path alone: every
export's resources read back from its ``raw`` column and written again through ``normalise`` +
``ExportWriter`` (what any simulator writing the CONTRACT layout this way must spend at least).
With ``--before <checkout>`` (a source tree of the code before a change, e.g. ``git archive`` of
main) the same simulation is also run with that code, interleaved with this code's runs, and
the outputs of the two are compared byte for byte. CPU seconds (user + system of the child) are
recorded beside wall seconds: on a shared, loaded machine they move far less than wall time.

    python benchmarks/simulate_scale.py                      # demo scale (3 runs) + 1M (1 run)
    python benchmarks/simulate_scale.py --skip-million --runs 3
    python benchmarks/simulate_scale.py --before /tmp/main-d7b0f13 --skip-demo
    python benchmarks/simulate_scale.py --before /tmp/main-d7b0f13 --scale-users 100000 --million-runs 3
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, median, versions, write_result

WORK = Path(__file__).resolve().parent / "work" / "simulate"

FLOOR = """
import sys, time, orjson, pyarrow.parquet as pq
from pathlib import Path
from recon.engine.duckdb import DuckDBSession, connect
from recon.extract.normalize import normalise
from recon.extract.writer import ExportWriter
from recon.store import Manifest, Store
src, dst = Store(sys.argv[1]), Store(sys.argv[2])
con = DuckDBSession(con=connect(temp_dir=dst.temp_dir, memory_limit="512MB"))
for ref in src.exports():
    target = dst.export(ref.system, ref.cycle, ref.kind)
    with dst.publishing(target.path) as staging:
        writer = ExportWriter(staging)
        for table in ("users", "groups"):
            for batch in pq.ParquetFile(ref.table(table)).iter_batches(columns=["raw"], batch_size=20000):
                for raw in batch.column(0).to_pylist():
                    writer.add(normalise(orjson.loads(raw), raw))
        writer.finish(con, Manifest(system=ref.system, cycle=ref.cycle, kind=ref.kind))
"""


@dataclass(frozen=True)
class Timed:
    seconds: float
    cpu_seconds: float  # user + system of the command
    peak_rss_mb: float

    def __str__(self) -> str:
        return f"{self.seconds:.1f} s wall, {self.cpu_seconds:.1f} s CPU, peak RSS {self.peak_rss_mb:,.0f} MB"


_CHILD = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([time.perf_counter() - t, used.ru_utime + used.ru_stime, used.ru_maxrss]))
"""


def _timed(args: list[str], code: Path | None = None) -> Timed:
    """``args`` in a fresh helper process (so the peak RSS is this command's); with ``code``, the
    ``recon`` package is imported from that source tree (``-P``: not from the current folder)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], check=True, capture_output=True, text=True, env=env
    )
    seconds, cpu, rss_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return Timed(float(seconds), float(cpu), float(rss_kb) / 1024)


def _simulate(out: Path, users: int, cycles: int, code: Path | None = None) -> Timed:
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-P", "-m", "recon", "simulate", "--out", str(out), "--users", str(users)]
    args += ["--cycles", str(cycles), "--seed", "1", "--profile", "typical"]
    return _timed(args, code)


def _same_bytes(mine: Path, theirs: Path) -> str:
    """ "identical" when both folders hold the same files with the same bytes, else what differs."""
    left = {p.relative_to(mine): p for p in mine.rglob("*") if p.is_file()}
    right = {p.relative_to(theirs): p for p in theirs.rglob("*") if p.is_file()}
    if left.keys() != right.keys():
        return f"different files: {sorted(map(str, left.keys() ^ right.keys()))[:5]}"
    differ = [str(k) for k in sorted(left) if not filecmp.cmp(left[k], right[k], shallow=False)]
    return f"identical ({len(left)} files)" if not differ else f"{len(differ)} files differ: {differ[:5]}"


def _floor(sim: Path) -> Timed:
    copy = WORK / "floor"
    shutil.rmtree(copy, ignore_errors=True)
    run = _timed([sys.executable, "-c", FLOOR, str(sim), str(copy)])
    shutil.rmtree(copy, ignore_errors=True)
    return run


def _rows(sim: Path) -> int:
    meta = json.loads((sim / "truth" / "simulation.json").read_text())
    total = 0
    for path in (sim / "exports").rglob("manifest.json"):
        rows = json.loads(path.read_text())["rows"]
        total += rows["users"] + rows["groups"]
    assert meta["cycles"]
    return total


def _size(folder: Path) -> tuple[int, int]:
    """Bytes and files under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def _measure(
    users: int, cycles: int, runs: int, before: Path | None, floor_runs: int | None = None
) -> dict[str, object]:
    out = WORK / f"sim-{users}"
    old = WORK / f"sim-{users}-before"
    sims: list[Timed] = []
    befores: list[Timed] = []
    same = "not compared"
    for run in range(runs):  # interleaved: before, after, before, after ...
        if before is not None:
            load = _load()
            befores.append(_simulate(old, users, cycles, before))
            print(f"{users:,} users, before {run + 1}: {befores[-1]} load {load} -> {_load()}", flush=True)
        load = _load()
        sims.append(_simulate(out, users, cycles))
        print(f"{users:,} users, run {run + 1}: {sims[-1]} load {load} -> {_load()}", flush=True)
        if before is not None:
            same = _same_bytes(out, old)
            print(f"{users:,} users, outputs before/after: {same}", flush=True)
            shutil.rmtree(old, ignore_errors=True)
    exports, truth = _size(out / "exports"), _size(out / "truth")
    floors = []
    for run in range(runs if floor_runs is None else floor_runs):
        floors.append(_floor(out))
        print(f"{users:,} users, floor {run + 1}: {floors[-1]} load {_load()}", flush=True)
    rows = _rows(out)
    summary = json.loads((out / "truth" / "simulation.json").read_text())["truth"]
    findings = sum(
        n for cycles_ in summary["findings"].values() for kinds in cycles_.values() for n in kinds.values()
    )
    shutil.rmtree(out, ignore_errors=True)
    return {
        "users": users,
        "cycles": cycles,
        "runs": runs,
        "seconds": median([r.seconds for r in sims]),
        "cpu": median([r.cpu_seconds for r in sims]),
        "each": ", ".join(f"{r.seconds:.1f}" for r in sims),
        "exports": exports,
        "truth": truth,
        "rss": max(r.peak_rss_mb for r in sims),
        "floor_runs": len(floors),
        "floor": median([r.seconds for r in floors]) if floors else float("nan"),
        "floor_cpu": median([r.cpu_seconds for r in floors]) if floors else float("nan"),
        "floor_rss": max((r.peak_rss_mb for r in floors), default=float("nan")),
        "rows": rows,
        "findings": findings,
        "before": befores,
        "same": same,
    }


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo-users", type=int, default=5000)
    parser.add_argument("--demo-cycles", type=int, default=8)
    parser.add_argument("--million-runs", type=int, default=1)
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument(
        "--scale-users", type=int, default=1_000_000, help="users of the large run (x 2 cycles)"
    )
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--before", type=Path, help="a source tree of the code before the change")
    parser.add_argument("--before-label", default="before", help="what --before is (e.g. main at d7b0f13)")
    parser.add_argument(
        "--floor-runs", type=int, help="floor runs of the large run (default: as many; 0: no floor)"
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = _load()
    results = []
    if not args.skip_demo:
        results.append(_measure(args.demo_users, args.demo_cycles, args.runs, args.before))
    if not args.skip_million:
        results.append(_measure(args.scale_users, 2, args.million_runs, args.before, args.floor_runs))
    lines = [
        "# recon simulate — demo scale and 1M users",
        "",
        f"Machine: {machine()}. Versions: {versions('recon', 'duckdb', 'polars', 'pyarrow', 'orjson')}.",
        f"Load average at the start: {load_before}.",
        "Profile `typical`, seed 1, targets slack + github. Each run in its own process; medians over",
        "the runs; the machine is shared and noisy. Floor: the same exports read back from `raw` and",
        "written again through `normalise` + `ExportWriter` (the mandated write path alone), same run.",
        "CPU s: user + system seconds of the process (what a loaded machine stretches least).",
        "",
        "| users | cycles | runs | resources written | truth findings | median s (runs) | CPU s | floor s "
        "| floor CPU s | ratio | peak RSS | floor peak RSS | exports | truth |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = float(r["seconds"]) / float(r["floor"])  # type: ignore[arg-type]
        exports: tuple[int, int] = r["exports"]  # type: ignore[assignment]
        truth: tuple[int, int] = r["truth"]  # type: ignore[assignment]
        lines.append(
            f"| {r['users']:,} | {r['cycles']} | {r['runs']} | {r['rows']:,} | {r['findings']:,} | "
            f"{r['seconds']:.1f} ({r['each']}) | {r['cpu']:.1f} | {r['floor']:.1f} | {r['floor_cpu']:.1f} | "
            f"{ratio:.2f}x | {r['rss']:,.0f} MB | {r['floor_rss']:,.0f} MB | "
            f"{exports[0] / 1024**2:,.1f} MB in {exports[1]} files | "
            f"{truth[0] / 1024**2:,.1f} MB in {truth[1]} files |"
        )
    if args.before is not None:
        lines += [
            "",
            f"Before the change ({args.before_label}), the same simulations interleaved with the runs above:",
            "",
            "| users | cycles | runs | median s (runs) | CPU s | peak RSS | speed-up (wall) | speed-up (CPU) "
            "| outputs before vs after |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results:
            befores: list[Timed] = r["before"]  # type: ignore[assignment]
            seconds = median([b.seconds for b in befores])
            cpu = median([b.cpu_seconds for b in befores])
            lines.append(
                f"| {r['users']:,} | {r['cycles']} | {len(befores)} | {seconds:.1f} "
                f"({', '.join(f'{b.seconds:.1f}' for b in befores)}) | {cpu:.1f} | "
                f"{max(b.peak_rss_mb for b in befores):,.0f} MB | "
                f"{seconds / float(r['seconds']):.2f}x | {cpu / float(r['cpu']):.2f}x | {r['same']} |"  # type: ignore[arg-type]
            )
    lines += [
        "",
        "Goal (issue 20): 1,000,000 users x 2 cycles in <= 300 s with peak RSS <= 3 GB (3,072 MB).",
        "",
    ]
    text = "\n".join(lines)
    path = write_result("simulate", text)
    print(text)
    print(f"written to {path} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
