"""Scale check for ``recon history``: synthetic findings over many cycles.

    .venv/bin/python benchmarks/history_scale.py [--users 200000] [--cycles 10] [--runs 5] \
        [--before DIR --label TEXT] [--data DIR]

Writes a data folder with one source (idp) and two targets, ``--cycles`` daily cycles, source
user exports (id, user_name, active) and per cycle and target: an attribute_mismatch for 5% of
users (persisting), a membership_missing for 2% (changing), and a delayed_deactivation for each
leaver (1% of users leave per cycle; the target deactivates 0-3 cycles later). Times
``history()`` (median of --runs, each in a fresh process, with its peak RSS) against the floor:
a DuckDB scan of every column history reads from the same files, interleaved with it. With
``--before`` a checkout of the earlier code (``git archive <commit> | tar -x -C DIR``) is measured
in the same run the same way. One more run per code times each statement through the engine
session (where the time goes) and writes the digest of ``history().to_json()``: with ``--before``
the two must be equal (the outputs are byte-identical), else the script fails. ``--data DIR``
generates the inputs into DIR once and reuses them on later runs (1M users x 20 cycles take a
while). Results, with the load average and CPU seconds, go to benchmarks/results/history.md.
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
from typing import Any

import duckdb

from recon import __version__
from recon.store import Manifest, Store, atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
_EXPORTS = "read_parquet('{root}/exports/*/*/*/users.parquet', hive_partitioning=true)"
_FINDINGS = "read_parquet('{root}/findings/*/*/*/findings.parquet', hive_partitioning=true)"
BOUND = {
    # The leavers: who some export shows inactive, when first, under which names, and whether an
    # export after that shows them other than inactive: every export row's id is tested (a leaver
    # may come back anywhere), against the leavers found first.
    "exports_min": f"""
        WITH leavers AS (
            SELECT system, id, min(cycle) AS left_cycle, min(user_name) AS first_name,
                max(user_name) AS last_name, count(*) AS inactive_rows
            FROM {_EXPORTS} WHERE active = false AND id IS NOT NULL GROUP BY system, id
        ),
        again AS (
            SELECT count(*) AS rows FROM {_EXPORTS} AS u
            JOIN leavers AS l ON l.system = u.system AND l.id = u.id
                AND CASE WHEN u.active = false THEN NULL ELSE u.cycle END > l.left_cycle
        )
        SELECT (SELECT rows FROM again), count(*), max(left_cycle), max(first_name), max(last_name),
            max(inactive_rows)
        FROM leavers""",
    # The findings' identities, grouped exactly by their 8 columns, and nothing more (not even their
    # first and last cycle: 0.25 CPU s more at 1M x 20): less than any exact open-drift age needs.
    "group_min": f"""
        SELECT count(*), max(rows) FROM (
            SELECT count(*) AS rows FROM {_FINDINGS} WHERE kind IS NOT NULL
            GROUP BY source, target, kind, source_id, target_id, group_id, target_group_id, attribute
        )""",
}
"""With ``--bound``: the two statements any exact history must run in some form (the leavers from
the exports, the identity spans from the findings), each as the cheapest DuckDB statement that
gives its part of the answer and nothing else (no output, no ordering), timed like the floor."""


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
import hashlib, json, resource, sys, time
what, root = sys.argv[2], sys.argv[1]
BOUND = json.loads(sys.argv[3]) if what not in ("history", "floor") else {}
steps = {}
if what == "history":
    try:
        from recon.reports import history
    except ImportError:  # --before code from before the regroup (b5b7021)
        from recon.history import history
    from recon.store import Store
    # DuckDB's own import before the clock, as the floor's (history() opens its session lazily;
    # until session 9 its ~0.1 s of import counted for history and not for the floor)
    try:
        import recon.engine.duckdb
    except ImportError:  # code from before the engine session
        import duckdb
    if len(sys.argv) > 3:  # where the time goes: seconds per statement, as the engine session runs it
        import recon.engine.duckdb as engine

        def timed(method, label):
            def wrapper(self, table_or_name, *args, **kwargs):
                started = time.perf_counter()
                out = method(self, table_or_name, *args, **kwargs)
                name = table_or_name
                if not isinstance(name, str):
                    name = getattr(name, "_bench", "?")
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - started
                if not isinstance(table_or_name, str):
                    return out
                out._bench = name
                return out
            return wrapper

        engine.DuckDBSession.run = timed(engine.DuckDBSession.run, "run")
        engine.DuckDBSession.polars = timed(engine.DuckDBSession.polars, "polars")
else:
    import duckdb
t = time.perf_counter()
cpu = time.process_time()
if what == "history":
    summary = history(Store(root))
    result = {"open": summary.open_drift.height, "leavers": summary.leavers.height}
elif what == "floor":
    con = duckdb.connect()
    con.sql(f"SELECT count(*), count(DISTINCT kind), max(source_id), max(target_id), max(group_id), "
            f"max(target_group_id), max(attribute), max(severity), max(detail), max(user_name) "
            f"FROM read_parquet('{root}/findings/*/*/*/findings.parquet', hive_partitioning=true)").fetchall()
    con.sql(f"SELECT count(*), max(id), max(user_name), count(active) "
            f"FROM read_parquet('{root}/exports/*/*/*/users.parquet', hive_partitioning=true)").fetchall()
    result = {}
else:  # a part of the bound: the cheapest statement for a part of the answer any exact history needs
    con = duckdb.connect()
    con.sql(BOUND[what].format(root=root)).fetchall()
    result = {}
result["seconds"] = time.perf_counter() - t
result["cpu_seconds"] = time.process_time() - cpu
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result["steps"] = steps
if what == "history" and steps:  # after the clock: the digest of every table history returns
    out = summary.to_json()
    out.pop("data_dir")
    result["digest"] = hashlib.sha256(json.dumps(out, sort_keys=True, default=str).encode()).hexdigest()
print(json.dumps(result))
"""


def measure(root: Path, what: str, code: Path | None = None, steps: bool = False) -> dict[str, Any]:
    """One measurement in a fresh process; ``code``: a checkout whose recon/ is imported instead."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    extra = ["steps"] if steps else [json.dumps(BOUND)] if what in BOUND else []
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), what, *extra],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = os.getloadavg()[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of the earlier code (git archive <commit>), measured in the same run",
    )
    parser.add_argument("--label", default="", help="what --before is (e.g. main at d7b0f13)")
    parser.add_argument("--data", type=Path, help="generate the inputs here once and reuse them")
    parser.add_argument(
        "--bound", action="store_true", help="also time the BOUND statements, interleaved with the rest"
    )
    args = parser.parse_args()
    kinds = ["floor", "history"] + (["before"] if args.before else []) + (list(BOUND) if args.bound else [])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store((args.data or Path(tmp)) / "data")
        marker = store.root.parent / f"generated-{args.users}x{args.cycles}.json"
        started = time.perf_counter()
        if args.data and marker.is_file():
            findings = int(json.loads(marker.read_text())["findings"])
        else:
            findings = generate(store, args.users, cycles(args.cycles))
            marker.write_text(json.dumps({"findings": findings}))
        print(f"{findings} findings ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for index in range(args.runs):  # interleaved, the order rotating, so load drifts hit all alike
            for kind in kinds[index % len(kinds) :] + kinds[: index % len(kinds)]:
                what = "history" if kind == "before" else kind
                runs[kind].append(measure(store.root, what, args.before if kind == "before" else None))
                print(kind, json.dumps(runs[kind][-1]), file=sys.stderr)
        profile = measure(store.root, "history", steps=True)  # one more run, per statement
        before_profile = measure(store.root, "history", args.before, steps=True) if args.before else None
    if before_profile and before_profile["digest"] != profile["digest"]:
        raise SystemExit(
            f"history() output differs from --before: {profile['digest']} != {before_profile['digest']}"
        )
    med = {kind: statistics.median(r["seconds"] for r in rows) for kind, rows in runs.items()}
    cpu = {kind: statistics.median(r["cpu_seconds"] for r in rows) for kind, rows in runs.items()}
    rss = {kind: max(r["peak_rss_mb"] for r in rows) for kind, rows in runs.items()}
    loads = [r["load"] for rows in runs.values() for r in rows]
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb as d
    import polars as p

    def row(kind: str, name: str) -> str:
        return (
            f"| {name} | {args.users:,} | {args.cycles} | {findings:,} | ~{args.users * args.cycles:,} "
            f"| {med[kind]:.2f} s | {med['floor']:.2f} s | {med[kind] / med['floor']:.1f}x "
            f"| {cpu[kind]:.2f} s / {cpu['floor']:.2f} s = {cpu[kind] / cpu['floor']:.1f}x "
            f"| {rss[kind]:.0f} MB |"
        )

    def bound_line(kind: str) -> str:
        each = ", ".join(f"{r['cpu_seconds']:.2f}" for r in runs[kind])
        return (
            f"- {kind}: {med[kind]:.2f} s, {cpu[kind]:.2f} CPU s = {cpu[kind] / cpu['floor']:.2f}x "
            f"the floor's CPU (runs, CPU s: {each})"
        )

    def runs_of(kind: str) -> str:
        return ", ".join(f"{r['seconds']:.2f}" for r in runs[kind])

    def steps_of(profile: dict[str, Any]) -> str:
        total = profile["seconds"]
        parts = sorted(profile["steps"].items(), key=lambda item: -item[1])
        other = total - sum(profile["steps"].values())
        return (
            f"{total:.2f} s in all: "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts if seconds >= 0.05)
            # statements run at the same time (Session.both_at_once) add up to more than the total
            + (f"; other {other:.2f} s" if other >= 0 else "; statements in two lanes at once")
        )

    lines = [
        "## recon history",
        "",
        f"Machine: {os.cpu_count()} cores, {ram_gb:.0f} GB RAM, {platform.platform()}; Python "
        f"{platform.python_version()}, duckdb {d.__version__}, polars {p.__version__}, recon {__version__}.",
        "",
        "| code | source users | cycles | finding rows | source user rows | history() median "
        "| floor (scan) median | ratio | CPU s (median), history / floor | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
        row("history", "this branch"),
        *([row("before", args.label or str(args.before))] if args.before else []),
        "",
        f"Median of {args.runs} runs of each, interleaved (the order rotating), each in a fresh process "
        "(imports done before the clock starts); floor = one DuckDB scan of every column history reads, "
        f"measured in the same run. Load average (1 min) at the measurements: min {min(loads):.1f}, "
        f"median {statistics.median(loads):.1f}, max {max(loads):.1f} on {os.cpu_count()} cores. "
        f"Runs: {runs_of('history')} s (history)"
        + (f"; {runs_of('before')} s (before)" if args.before else "")
        + f"; {runs_of('floor')} s (floor). "
        f"Result sizes: {runs['history'][0]['open']:,} open findings, {runs['history'][0]['leavers']:,} "
        "leaver rows."
        + (
            f" Output: the sha256 of history().to_json() is equal for both codes ({profile['digest'][:16]}…)."
            if before_profile
            else ""
        ),
        "",
        "Where the time goes (one more run each, seconds per statement as the engine session runs it, "
        "in its lane when two run at once; a lazy statement is counted when its rows are fetched):",
        "",
        f"- this branch: {steps_of(profile)}",
        *([f"- before: {steps_of(before_profile)}"] if before_profile else []),
        "",
    ]
    if args.bound:
        parts = sum(cpu[kind] for kind in BOUND)
        lines += [
            "The bound, timed in the same runs (the cheapest DuckDB statement for each part of the answer "
            "any exact history needs; `BOUND` in benchmarks/history_scale.py):",
            "",
            *(bound_line(kind) for kind in BOUND),
            f"- together {parts:.2f} CPU s = {parts / cpu['floor']:.2f}x the floor's CPU; history() "
            f"{cpu['history']:.2f} = {cpu['history'] / cpu['floor']:.2f}x, so everything else it does costs "
            f"{(cpu['history'] - parts) / cpu['floor']:.2f}x the floor",
            "",
        ]
    out = ROOT / "benchmarks" / "results" / "history.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
