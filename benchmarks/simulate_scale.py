"""Benchmark: `recon simulate` at demo scale and at 1M users (issue: 1M must finish under 4 GB peak RSS).

Each simulation runs in its own child process (wall time and the child's peak RSS). The floor,
measured in the same run on the same output, is the mandated write path alone: every export's
resources read back from its ``raw`` column and written again through ``normalise`` +
``ExportWriter`` (what any simulator writing the CONTRACT layout this way must spend at least).

    python benchmarks/simulate_scale.py                      # demo scale (3 runs) + 1M (1 run)
    python benchmarks/simulate_scale.py --skip-million --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Run, machine, measured_in_child, median, versions, write_result

WORK = Path(__file__).resolve().parent / "work" / "simulate"

FLOOR = """
import sys, time, orjson, pyarrow.parquet as pq
from pathlib import Path
from recon.engine.duckdb import connect
from recon.extract.normalize import normalise
from recon.extract.writer import ExportWriter
from recon.store import Manifest, Store
src, dst = Store(sys.argv[1]), Store(sys.argv[2])
con = connect(temp_dir=dst.temp_dir, memory_limit="512MB")
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


def _simulate(out: Path, users: int, cycles: int) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-m", "recon", "simulate", "--out", str(out), "--users", str(users)]
    args += ["--cycles", str(cycles), "--seed", "1", "--profile", "typical"]
    return measured_in_child(args)


def _floor(sim: Path) -> Run:
    copy = WORK / "floor"
    shutil.rmtree(copy, ignore_errors=True)
    run = measured_in_child([sys.executable, "-c", FLOOR, str(sim), str(copy)])
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


def _measure(users: int, cycles: int, runs: int) -> dict[str, object]:
    out = WORK / f"sim-{users}"
    sims = []
    for run in range(runs):
        sims.append(_simulate(out, users, cycles))
        print(f"{users:,} users, run {run + 1}: {sims[-1]} load {os.getloadavg()[0]:.1f}", flush=True)
    exports, truth = _size(out / "exports"), _size(out / "truth")
    floors = []
    for run in range(runs):
        floors.append(_floor(out))
        print(f"{users:,} users, floor {run + 1}: {floors[-1]} load {os.getloadavg()[0]:.1f}", flush=True)
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
        "each": ", ".join(f"{r.seconds:.1f}" for r in sims),
        "exports": exports,
        "truth": truth,
        "rss": max(r.peak_rss_mb for r in sims),
        "floor": median([r.seconds for r in floors]),
        "floor_rss": max(r.peak_rss_mb for r in floors),
        "rows": rows,
        "findings": findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo-users", type=int, default=5000)
    parser.add_argument("--demo-cycles", type=int, default=8)
    parser.add_argument("--million-runs", type=int, default=1)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    results = [_measure(args.demo_users, args.demo_cycles, args.runs)]
    if not args.skip_million:
        results.append(_measure(1_000_000, 2, args.million_runs))
    lines = [
        "# recon simulate — demo scale and 1M users",
        "",
        f"Machine: {machine()}. Versions: {versions('recon', 'duckdb', 'polars', 'pyarrow', 'orjson')}.",
        f"Load average at the start: {load_before}.",
        "Profile `typical`, seed 1, targets slack + github. Each run in its own process; medians over",
        "the runs; the machine is shared and noisy. Floor: the same exports read back from `raw` and",
        "written again through `normalise` + `ExportWriter` (the mandated write path alone), same run.",
        "",
        "| users | cycles | runs | resources written | truth findings | median s (runs) | floor s | ratio "
        "| peak RSS | floor peak RSS | exports | truth |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = float(r["seconds"]) / float(r["floor"])  # type: ignore[arg-type]
        exports: tuple[int, int] = r["exports"]  # type: ignore[assignment]
        truth: tuple[int, int] = r["truth"]  # type: ignore[assignment]
        lines.append(
            f"| {r['users']:,} | {r['cycles']} | {r['runs']} | {r['rows']:,} | {r['findings']:,} | "
            f"{r['seconds']:.1f} ({r['each']}) | {r['floor']:.1f} | {ratio:.2f}x | "
            f"{r['rss']:,.0f} MB | {r['floor_rss']:,.0f} MB | "
            f"{exports[0] / 1024**2:,.1f} MB in {exports[1]} files | "
            f"{truth[0] / 1024**2:,.1f} MB in {truth[1]} files |"
        )
    lines += ["", "Goal: 1,000,000 users finish with peak RSS < 4 GB (4,096 MB).", ""]
    text = "\n".join(lines)
    path = write_result("simulate", text)
    print(text)
    print(f"written to {path} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
