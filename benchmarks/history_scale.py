"""Scale check for ``recon history``: synthetic findings over many cycles.

    .venv/bin/python benchmarks/history_scale.py [--users 200000] [--cycles 10] [--runs 3]

Writes a data folder with one source (idp) and two targets, ``--cycles`` daily cycles, source
user exports (id, user_name, active) and per cycle and target: an attribute_mismatch for 5% of
users (persisting), a membership_missing for 2% (changing), and a delayed_deactivation for each
leaver (1% of users leave per cycle; the target deactivates 0-3 cycles later). Times
``history()`` (median of --runs, each in a fresh process, with its peak RSS) against the floor:
a DuckDB scan of every column history reads from the same files. Results go to
benchmarks/results/history.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from recon import __version__
from recon.store import Manifest, Store, atomic_write_json

ROOT = Path(__file__).resolve().parents[1]


def cycles(count: int) -> list[str]:
    start = datetime(2026, 1, 5, 2, tzinfo=UTC)
    return [(start + timedelta(days=i)).strftime("%Y%m%dT%H%M%SZ") for i in range(count)]


def generate(store: Store, users: int, ids: list[str]) -> int:
    con = duckdb.connect()
    rows = 0
    for index, cycle in enumerate(ids):
        ref = store.export("idp", cycle, "full")
        ref.path.mkdir(parents=True, exist_ok=True)
        # user i leaves at cycle (i % 100) when that is < cycles; deleted 3 cycles later
        con.sql(
            f"""COPY (SELECT 'u' || i AS id, 'user' || i || '@example.com' AS user_name,
                       NOT (i % 100 < {len(ids)} AND i % 100 <= {index}) AS active
                FROM range({users}) t(i)
                WHERE NOT (i % 100 < {len(ids)} AND i % 100 + 3 <= {index}))
                TO '{ref.table("users")}' (FORMAT parquet)"""
        )
        atomic_write_json(ref.manifest_path, Manifest(system="idp", cycle=cycle, kind="full").to_json())
        for target in ("slack", "github"):
            folder = store.findings_dir("idp", target, cycle)
            folder.mkdir(parents=True, exist_ok=True)
            lag = 1 if target == "slack" else 2
            query = f"""
                SELECT 'attribute_mismatch' AS kind, 'medium' AS severity, 'u' || i AS source_id,
                       't' || i AS target_id, 'user' || i AS user_name, NULL::VARCHAR AS group_id,
                       NULL::VARCHAR AS target_group_id, NULL::VARCHAR AS group_name,
                       'department' AS attribute, 'a' AS source_value, 'b' AS target_value,
                       'differs' AS detail
                FROM range({users}) t(i) WHERE i % 20 = 0
                UNION ALL
                SELECT 'membership_missing', 'medium', 'u' || i, 't' || i, 'user' || i, 'g1', 'tg1',
                       'eng', NULL, NULL, NULL, 'missing'
                FROM range({users}) t(i) WHERE (i + {index}) % 50 = 0
                UNION ALL
                SELECT 'delayed_deactivation', 'critical', 'u' || i, 't' || i, 'user' || i, NULL, NULL,
                       NULL, NULL, NULL, NULL, 'still active'
                FROM range({users}) t(i)
                WHERE i % 100 < {len(ids)} AND i % 100 <= {index} AND {index} < i % 100 + (i % 4) * {lag}
                  AND {index} < i % 100 + 3
            """
            rows += int(con.sql(f"SELECT count(*) FROM ({query})").fetchall()[0][0])
            con.sql(f"COPY ({query}) TO '{folder / 'findings.parquet'}' (FORMAT parquet)")
    con.close()
    return rows


CHILD = """
import json, resource, sys, time
from recon.store import Store
t = time.perf_counter()
if sys.argv[2] == "history":
    from recon.reports import history
    summary = history(Store(sys.argv[1]))
    result = {"open": summary.open_drift.height, "leavers": summary.leavers.height}
else:
    import duckdb
    con = duckdb.connect()
    root = sys.argv[1]
    con.sql(f"SELECT count(*), count(DISTINCT kind), max(source_id), max(target_id), max(group_id), "
            f"max(target_group_id), max(attribute), max(severity), max(detail), max(user_name) "
            f"FROM read_parquet('{root}/findings/*/*/*/findings.parquet', hive_partitioning=true)").fetchall()
    con.sql(f"SELECT count(*), max(id), max(user_name), count(active) "
            f"FROM read_parquet('{root}/exports/*/*/*/users.parquet', hive_partitioning=true)").fetchall()
    result = {}
result["seconds"] = time.perf_counter() - t
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def measure(root: Path, what: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), what], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data")
        started = time.perf_counter()
        findings = generate(store, args.users, cycles(args.cycles))
        print(f"generated {findings} findings in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        floors, runs = [], []
        for _ in range(args.runs):
            floors.append(measure(store.root, "floor"))
            runs.append(measure(store.root, "history"))
    floor = statistics.median(r["seconds"] for r in floors)
    took = statistics.median(r["seconds"] for r in runs)
    rss = max(r["peak_rss_mb"] for r in runs)
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb as d
    import polars as p

    lines = [
        "## recon history",
        "",
        f"Machine: {os.cpu_count()} cores, {ram_gb:.0f} GB RAM, {platform.platform()}; Python "
        f"{platform.python_version()}, duckdb {d.__version__}, polars {p.__version__}, recon {__version__}.",
        "",
        "| source users | cycles | pairs | finding rows | source user rows | history() median "
        "| floor (scan) median | ratio | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {args.users:,} | {args.cycles} | 2 | {findings:,} | ~{args.users * args.cycles:,} | {took:.2f} s "
        f"| {floor:.2f} s | {took / floor:.1f}x | {rss:.0f} MB |",
        "",
        f"Median of {args.runs} runs, each in a fresh process (cold imports included in neither figure); "
        "floor = one DuckDB scan of every column history reads. Runs: "
        + ", ".join(f"{r['seconds']:.2f}" for r in runs)
        + " s (history); "
        + ", ".join(f"{r['seconds']:.2f}" for r in floors)
        + " s (floor). "
        f"Result sizes: {runs[0]['open']:,} open findings, {runs[0]['leavers']:,} leaver rows.",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "history.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
