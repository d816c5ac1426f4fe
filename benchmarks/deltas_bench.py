# ruff: noqa: E501  (SQL and Markdown templates are kept on one line each)
"""Benchmark of ``recon deltas`` against the DuckDB scan floor of its inputs.

    .venv/bin/python benchmarks/deltas_bench.py                    # 1M users, 3 runs
    .venv/bin/python benchmarks/deltas_bench.py --users 100000 --runs 5

Inputs are generated with DuckDB straight into the CONTRACT §3 layout (system ``idp``, a base
and a head cycle): full exports of both cycles (users, ~8 memberships per user, one group per
100 users) and the head's delta export as a server answering ``meta.lastModified gt "W"``
would (every user and group whose lastModified is after the watermark). Changes are planted
by ``i % m`` with known counts (checked against every run's summary, so each timed run is
also an exactness check at scale):

- users: 2% changed with lastModified bumped, 0.5% touched (lastModified bumped, no change ->
  unchanged_returned), 0.2% changed without a bump (missed_change + stale_last_modified),
  0.1% changed and stamped exactly at the watermark (boundary miss: lag 1 s), 0.5% deleted,
  0.5% created;
- groups: a member removed from 1 group in 10 (a membership-only change), half of those with
  lastModified bumped, half not (missed_change + stale).

Each measurement runs in a fresh child process, timed inside it, with its peak RSS:
(a) the floor: DuckDB reading (hashing) every column ``recon deltas`` reads from every input
    file; (b) ``recon.deltas.deltas``. Medians of ``--runs``. Results go to
    ``benchmarks/results/deltas.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recon import __version__  # noqa: E402
from recon.engine.duckdb import connect  # noqa: E402
from recon.store import Manifest, Store, atomic_write_json  # noqa: E402

BASE, HEAD = "20260105T020000Z", "20260106T020000Z"
WATERMARK = "2026-01-05T02:00:00Z"
USER_COLUMNS = (
    "id, external_id, user_name, active, display_name, given_name, family_name, emails, primary_email, "
    "employee_number, department, title, manager_id, user_type, created, last_modified, version, raw"
)

# user i: kind by i % 1000 (0..19 changed+bumped, 20..24 touched, 25..26 changed not bumped,
# 27 changed at the watermark, 30..34 deleted); created users are i >= n (n/200 of them).
USERS = """
COPY (
    WITH u AS (
        SELECT i, i % 1000 AS k FROM range({n} + {created}) AS t(i)
        WHERE {head} OR i < {n}
    ),
    shaped AS (
        SELECT
            i, k,
            {head} AND i < {n} AND k BETWEEN 0 AND 27 AND k NOT BETWEEN 20 AND 24 AS changed,
            CASE
                WHEN NOT {head} THEN TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400)
                WHEN i >= {n} OR k BETWEEN 0 AND 24 THEN TIMESTAMPTZ '2026-01-05 03:00:00+00' + to_seconds(i % 3600)
                WHEN k = 27 THEN TIMESTAMPTZ '2026-01-05 02:00:00+00'
                ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400)
            END AS last_modified
        FROM u
        WHERE NOT ({head} AND i < {n} AND k BETWEEN 30 AND 34)
    )
    SELECT
        md5('u' || i) AS id,
        'ext-' || i AS external_id,
        'user' || i || '@example.com' AS user_name,
        i % 50 <> 3 AS active,
        'Given' || (i % 1000) || ' Family' || (i % 5000) AS display_name,
        'Given' || (i % 1000) AS given_name,
        'Family' || (i % 5000) AS family_name,
        [{{'value': 'user' || i || '@example.com', 'type': 'work', 'primary': true}},
         {{'value': 'u' || i || '@home.example.org', 'type': 'home', 'primary': false}}] AS emails,
        'user' || i || '@example.com' AS primary_email,
        CAST(100000 + i AS VARCHAR) AS employee_number,
        'dept-' || (i % 50) AS department,
        CASE WHEN changed THEN 'title-changed' ELSE 'title-' || (i % 97) END AS title,
        md5('u' || (i // 10 * 10)) AS manager_id,
        'Employee' AS user_type,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' AS created,
        last_modified,
        'W/"1"' AS version,
        '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"' || md5('u' || i)
            || '","userName":"user' || i || '@example.com"}}' AS raw
    FROM shaped
    WHERE {where}
    ORDER BY id
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

# group g = i // 100; members: user i is in groups (i * 7 + j * 131) % G for j < 8.
# In the head, the j = 0 membership of users with i % 997 = 5 is removed (about one group in ten
# loses a member); even-numbered ones among those groups are bumped. Created users join no group.
MEMBERSHIPS = """
COPY (
    SELECT md5('g' || ((i * 7 + j * 131) % {groups})) AS group_id, md5('u' || i) AS member_id, 'User' AS member_type
    FROM range({n}) AS t(i), range(8) AS s(j)
    WHERE {keep}
    ORDER BY group_id, member_id
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""
GROUPS = """
COPY (
    SELECT
        md5('g' || g) AS id, 'gext-' || g AS external_id, 'group-' || g AS display_name,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' AS created,
        CASE WHEN {head} AND g IN (SELECT changed_group FROM changed) AND g % 2 = 0
            THEN TIMESTAMPTZ '2026-01-05 04:00:00+00' ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' END AS last_modified,
        'W/"1"' AS version,
        '{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"' || md5('g' || g) || '"}}' AS raw
    FROM range({groups}) AS t(g)
    WHERE {where}
    ORDER BY id
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""


def generate(root: Path, n: int) -> dict[str, int]:
    """Write the three exports; return the expected counts."""
    if root.exists():
        shutil.rmtree(root)
    store = Store(root)
    groups = max(n // 100, 10)
    created = n // 200
    con = connect(temp_dir=root / ".tmp")
    removed = "(i % 997 = 5 AND j = 0)"
    con.sql(
        f"CREATE TABLE changed AS SELECT DISTINCT (i * 7) % {groups} AS changed_group "
        f"FROM range({n}) AS t(i) WHERE i % 997 = 5"
    )
    for cycle, kind, head in ((BASE, "full", "false"), (HEAD, "full", "true"), (HEAD, "delta", "true")):
        ref = store.export("idp", cycle, kind)  # type: ignore[arg-type]
        ref.path.mkdir(parents=True)
        delta = kind == "delta"
        user_where = "last_modified > TIMESTAMPTZ '2026-01-05 02:00:00+00'" if delta else "true"
        con.sql(USERS.format(n=n, created=created, head=head, where=user_where, path=ref.table("users")))
        group_where = "last_modified > TIMESTAMPTZ '2026-01-05 02:00:00+00'" if delta else "true"
        con.sql(GROUPS.format(groups=groups, head=head, where=group_where, path=ref.table("groups")))
        keep = f"NOT {removed}" if head == "true" else "true"
        if delta:
            keep += f" AND md5('g' || ((i * 7 + j * 131) % {groups})) IN (SELECT id FROM read_parquet('{ref.table('groups')}'))"
        con.sql(MEMBERSHIPS.format(n=n, groups=groups, keep=keep, path=ref.table("memberships")))
        manifest = Manifest(system="idp", cycle=cycle, kind=kind)  # type: ignore[arg-type]
        if delta:
            manifest.filter, manifest.watermark = f'meta.lastModified gt "{WATERMARK}"', WATERMARK
        atomic_write_json(ref.manifest_path, manifest.to_json())
    per = n // 1000
    changed_groups = int(con.sql("SELECT count(*) FROM changed").fetchall()[0][0])
    bumped_groups = int(con.sql("SELECT count(*) FROM changed WHERE changed_group % 2 = 0").fetchall()[0][0])
    con.close()
    return {
        "missed_change": 3 * per + (changed_groups - bumped_groups),
        "missed_creation": 0,
        "unreported_deletion": 5 * per,
        "unchanged_returned": 5 * per,
        "stale_last_modified": 3 * per + (changed_groups - bumped_groups),
        "outside_filter": 0,
    }


FLOOR = """
import sys, time, json
sys.path.insert(0, {root!r})
from recon.engine.duckdb import connect
con = connect(memory_limit={memory!r})
reads = {reads!r}


def read(column, kind):
    # an aggregate that needs every value decoded (count() alone is answered from Parquet statistics)
    if kind.startswith("VARCHAR"):
        return 'sum(strlen("' + column + '"))'
    if kind == "BOOLEAN":
        return 'sum(CAST("' + column + '" AS INTEGER))'
    if kind.startswith("TIMESTAMP"):
        return 'sum(epoch_ms("' + column + '"))'
    if kind.endswith("[]"):
        return 'sum(len(list_transform("' + column + '", lambda e: e.value)))'
    return 'count("' + column + '")'


import resource
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
started, cpu0 = time.perf_counter(), cpu()
for path, wanted in reads:
    scan = "read_parquet(?)"
    columns = [row for row in con.sql("DESCRIBE SELECT * FROM " + scan, params=[path]).fetchall() if row[0] in wanted]
    con.sql("SELECT " + ", ".join(read(row[0], row[1]) for row in columns) + " FROM " + scan, params=[path]).fetchall()
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu": cpu() - cpu0}}))
"""
DELTAS = """
import sys, time, json
sys.path.insert(0, {root!r})
from recon.deltas import deltas
from recon.store import Store
import resource
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t, cpu0 = time.perf_counter(), cpu()
s = deltas(Store({data!r}), "idp", {base!r}, {head!r}, memory_limit={memory!r})
print(json.dumps({{"seconds": time.perf_counter() - t, "cpu": cpu() - cpu0, "summary": s.to_json()}}, default=str))
"""


def measure(code: str) -> tuple[float, float, dict[str, object]]:
    """Seconds and peak RSS of one run in a fresh process (peak via a wrapper process)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, text=True, check=True)\n"
        "print(p.stdout.strip().splitlines()[-1])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, code], capture_output=True, text=True, check=True)
    answer, rss_kb = done.stdout.strip().splitlines()[-2:]
    data = json.loads(answer)
    return float(data["seconds"]), float(rss_kb) / 1024, data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "deltas")
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--reuse", action="store_true", help="Reuse the inputs of a previous run in --work.")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "deltas.md")
    args = parser.parse_args()

    expected = (
        generate(args.work, args.users)
        if not args.reuse
        else json.loads((args.work / "expected.json").read_text())
    )
    (args.work / "expected.json").write_text(json.dumps(expected))
    store = Store(args.work)
    users_read = [c for c in USER_COLUMNS.split(", ") if c not in ("created", "version", "raw")]
    groups_read = ["id", "external_id", "display_name", "last_modified"]
    members_read = ["group_id", "member_id", "member_type"]
    reads: list[tuple[str, list[str]]] = []
    for cycle, kind in ((BASE, "full"), (HEAD, "full"), (HEAD, "delta")):
        ref = store.export("idp", cycle, kind)  # type: ignore[arg-type]
        users_wanted = ["id", "last_modified"] if kind == "delta" else users_read
        reads += [
            (str(ref.table("users")), users_wanted),
            (str(ref.table("groups")), groups_read),
            (str(ref.table("memberships")), members_read),
        ]
    import pyarrow.parquet as pq

    rows = {
        "users": pq.ParquetFile(reads[0][0]).metadata.num_rows,
        "memberships": pq.ParquetFile(reads[2][0]).metadata.num_rows,
        "delta_users": pq.ParquetFile(reads[6][0]).metadata.num_rows,
    }

    floor_code = FLOOR.format(root=str(ROOT), reads=reads, memory=args.memory_limit)
    deltas_code = DELTAS.format(
        root=str(ROOT), data=str(args.work), base=BASE, head=HEAD, memory=args.memory_limit
    )
    floors: list[float] = []
    runs: list[float] = []
    floor_cpu: list[float] = []
    run_cpu: list[float] = []
    floor_rss: list[float] = []
    run_rss: list[float] = []
    summary: dict[str, object] = {}
    for number in range(args.runs):
        seconds, rss, data = measure(floor_code)
        floors.append(seconds)
        floor_cpu.append(float(data["cpu"]))  # type: ignore[arg-type]
        floor_rss.append(rss)
        seconds, rss, data = measure(deltas_code)
        runs.append(seconds)
        run_cpu.append(float(data["cpu"]))  # type: ignore[arg-type]
        run_rss.append(rss)
        summary = data["summary"]  # type: ignore[assignment]
        counts = summary["counts"]  # type: ignore[index]
        if counts != expected:
            raise SystemExit(f"inexact: expected {expected}, got {counts}")
        if summary["watermark_lag_seconds"] != 1:  # type: ignore[index]
            raise SystemExit(f"lag: expected 1 s, got {summary['watermark_lag_seconds']}")  # type: ignore[index]
        print(
            f"run {number + 1}: floor {floors[-1]:.2f} s (cpu {floor_cpu[-1]:.1f}), deltas {runs[-1]:.2f} s (cpu {run_cpu[-1]:.1f})"
        )
    floor = statistics.median(floors)
    median = statistics.median(runs)
    ratios = [r / f for r, f in zip(runs, floors, strict=True)]
    cpu_ratio = statistics.median(run_cpu) / statistics.median(floor_cpu)
    load = os.getloadavg()[0]
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "pyarrow", "polars"))
    text = f"""# recon deltas - {args.users:,} users

Machine: {platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Python {platform.python_version()}.
Versions: recon {__version__}, {versions}. Runs: {args.runs}, floor and deltas back to back in each,
each measurement in a fresh process (medians). The machine is shared: 1-minute load average at
the end {load:.1f} on {os.cpu_count()} cores, so wall times are noisy; CPU seconds are steadier.
DuckDB memory limit: {args.memory_limit or "default (80% of RAM)"}.

Inputs (generated with DuckDB): base and head full exports of {rows["users"]:,} users,
{rows["memberships"]:,} memberships and {max(args.users // 100, 10):,} groups each; the head's delta export
({rows["delta_users"]:,} users) as answered to `meta.lastModified gt "{WATERMARK}"`.

| step | median wall s | runs (wall s) | median CPU s | peak RSS (max over runs) |
|---|---|---|---|---|
| (a) floor: DuckDB decoding every column `recon deltas` reads from the 9 input files | {floor:.2f} | {", ".join(f"{x:.2f}" for x in floors)} | {statistics.median(floor_cpu):.1f} | {max(floor_rss):,.0f} MB |
| (b) `recon.deltas.deltas` (classify users and groups, findings, counts, lag; write + publish) | {median:.2f} | {", ".join(f"{x:.2f}" for x in runs)} | {statistics.median(run_cpu):.1f} | {max(run_rss):,.0f} MB |

Ratio (b)/(a) of the wall medians: **{median / floor:.2f}x** (per run: {", ".join(f"{r:.2f}" for r in ratios)});
of the CPU medians: **{cpu_ratio:.2f}x**. Goal ≤ 2x.

Every run's findings counted exactly what was planted: {json.dumps(expected)}; completeness
{summary.get("completeness")}, watermark lag {summary.get("watermark_lag_seconds")} s.
Group member sets are compared by per-group fingerprints (count, bit_xor and sum of 64-bit
hashes), like reconcile's membership comparison; users column by column (exact).
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
