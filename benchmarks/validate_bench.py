"""Benchmark: ``recon validate --system`` on a 1M-user export, against the DuckDB scan floor.

Generates (once, under benchmarks/work/validate/, not committed) a full export written
directly as Parquet by DuckDB SQL: 1,000,000 users (core + Enterprise User, two emails, a
phone, a manager) and 10,000 groups holding 5,000,000 memberships. Then, in the same run,
each in a fresh child process, medians of --runs runs:

- floor: DuckDB reading every column of users, groups and memberships once
  (sum of string lengths, counts of non-string columns);
- one_parse: the floor plus one JSON parse of every ``raw`` (json_extract_string of one path);
- json_structure: the floor plus DuckDB's json_structure of every ``raw`` (the shape pass);
- validate: ``recon validate --system bench`` (writes schema_findings.parquet + summary.json).

Ratios are to the floor measured in the same run. ``--faults 0.01`` also injects schema faults
into 1% of the users (an undeclared attribute, a password, two primaries) to show the cost of
findings. Writes benchmarks/results/validate.md.

    python benchmarks/validate_bench.py --users 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _measure import Run, machine, measured_in_child, versions, write_result

from recon.extract.writer import write_table
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.store import Manifest, Store, atomic_write_json

WORK = Path(__file__).resolve().parent / "work" / "validate"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USERS_SQL = f"""
WITH base AS (
    SELECT
        i,
        printf('%08x-user', i) AS id,
        'user' || i || '@example.com' AS un,
        (i % 20) <> 0 AS active,
        ['Sales', 'R&D', 'Finance', 'Support', 'Légal'][1 + (i % 5)] AS dept,
        (hash(i) % 10000) < $fault_share * 10000 AS faulty,
        i % 3 AS fault_kind
    FROM range($users) AS t(i)
)
SELECT
    id, 'E' || i AS external_id, un AS user_name, active,
    'Given' || i || ' Family' || (i % 997) AS display_name,
    'Given' || i AS given_name, 'Family' || (i % 997) AS family_name,
    [{{'value': un, 'type': 'work', 'primary': true}},
     {{'value': 'u' || i || '@home.example', 'type': 'home', 'primary': NULL}}] AS emails,
    un AS primary_email, CAST(i AS VARCHAR) AS employee_number, dept AS department, 'Engineer' AS title,
    printf('%08x-user', greatest(i - 7, 0)) AS manager_id, NULL::VARCHAR AS user_type,
    TIMESTAMPTZ '2025-06-01 08:00:00+00' AS created,
    TIMESTAMPTZ '2026-01-01 10:00:00+00' + to_minutes(i % 1000) AS last_modified,
    'W/"' || (i % 13) || '"' AS version,
    json_merge_patch(
        json_object(
            'schemas', ['{CORE}', '{ENT}'],
            'id', id, 'externalId', 'E' || i, 'userName', un, 'active', active,
            'name', json_object('givenName', 'Given' || i, 'familyName', 'Family' || (i % 997)),
            'displayName', 'Given' || i || ' Family' || (i % 997), 'title', 'Engineer',
            'emails', json_array(
                json_object('value', un, 'type', 'work', 'primary', true),
                json_object('value', 'u' || i || '@home.example', 'type', 'home')
            ),
            'phoneNumbers', json_array(json_object('value', '+1 555 ' || i, 'type', 'work')),
            '{ENT}', json_object(
                'employeeNumber', CAST(i AS VARCHAR), 'department', dept,
                'manager', json_object('value', printf('%08x-user', greatest(i - 7, 0)))
            ),
            'meta', json_object(
                'resourceType', 'User', 'created', '2025-06-01T08:00:00Z',
                'lastModified',
                strftime(TIMESTAMP '2026-01-01 10:00:00' + to_minutes(i % 1000), '%Y-%m-%dT%H:%M:%SZ'),
                'version', 'W/"' || (i % 13) || '"'
            )
        ),
        CASE
            WHEN NOT faulty THEN '{{}}'
            WHEN fault_kind = 0 THEN json_object('{ENT}', json_object('badgeNumber', 'B' || i))
            WHEN fault_kind = 1 THEN json_object('password', 'secret' || i)
            ELSE json_object('emails', json_array(
                json_object('value', un, 'type', 'work', 'primary', true),
                json_object('value', 'u' || i || '@home.example', 'type', 'home', 'primary', true)))
        END
    )::VARCHAR AS raw
FROM base
ORDER BY id
"""

MEMBERSHIPS_SQL = """
SELECT printf('%06x-group', (i * 7919) % $groups) AS group_id, printf('%08x-user', i % $users) AS member_id,
    'User' AS member_type
FROM range($memberships) AS t(i)
ORDER BY group_id, member_id
"""

GROUPS_SQL = f"""
WITH members AS (
    SELECT group_id, json_group_array(json_object(
        'value', member_id, '$ref', 'https://scim.example/v2/Users/' || member_id, 'type', 'User')) AS members
    FROM memberships
    GROUP BY group_id
)
SELECT
    group_id AS id, 'G' || group_id AS external_id, 'group ' || group_id AS display_name,
    TIMESTAMPTZ '2025-06-01 08:00:00+00' AS created, TIMESTAMPTZ '2026-01-01 10:00:00+00' AS last_modified,
    'W/"1"' AS version,
    json_object('schemas', ['{GROUP}'], 'id', group_id, 'displayName', 'group ' || group_id,
        'members', json(members), 'meta', json_object('resourceType', 'Group'))::VARCHAR AS raw
FROM members
ORDER BY id
"""

FLOOR = """
SELECT
    (SELECT sum(length(id)) + sum(length(external_id)) + sum(length(user_name)) + count(active)
        + sum(length(display_name)) + sum(length(given_name)) + sum(length(family_name)) + sum(len(emails))
        + sum(length(primary_email)) + sum(length(employee_number)) + sum(length(department))
        + sum(length(title)) + sum(length(manager_id)) + sum(length(user_type)) + count(created)
        + count(last_modified) + sum(length(version)) + sum(length(raw)) {extra_users} FROM users),
    (SELECT sum(length(id)) + sum(length(external_id)) + sum(length(display_name)) + count(created)
        + count(last_modified) + sum(length(version)) + sum(length(raw)) {extra_groups} FROM groups),
    (SELECT sum(length(group_id)) + sum(length(member_id)) + sum(length(member_type)) FROM memberships)
"""
EXTRA = {
    "floor": ("", ""),
    "one_parse": (
        "+ count(json_extract_string(raw, '$.meta.resourceType'))",
        "+ count(json_extract_string(raw, '$.meta.resourceType'))",
    ),
    "json_structure": ("+ sum(length(json_structure(raw)))", "+ sum(length(json_structure(raw)))"),
}
SCAN_CHILD = """
import duckdb, json, resource, sys, time
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
for name in ("users", "groups", "memberships"):
    con.sql(f"SELECT * FROM read_parquet('{sys.argv[1]}/{name}.parquet')").create_view(name)
started = time.perf_counter()
con.sql(sys.argv[2]).fetchall()
print(json.dumps([time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))
"""
VALIDATE_CHILD = """
import json, resource, sys, time
from recon.store import Store
from recon.validate import validate_export
started = time.perf_counter()
validate_export(Store(sys.argv[1]), "bench", "c1")
print(json.dumps([time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))
"""


def timed_child(code: str, *args: str) -> Run:
    """Run ``code`` in a fresh Python; its own timing of the work and its peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    seconds, rss_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(float(seconds), float(rss_kb) / 1024)


def generate(data: Path, users: int, groups: int, memberships: int, faults: float) -> Path:
    """Write the export (once per size) and return its folder."""
    store = Store(data)
    ref = store.export("bench", "c1")
    if ref.manifest_path.is_file():
        return ref.path
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    with store.publishing(ref.path) as staging:
        params = {"users": users, "fault_share": faults}
        rows_users = write_table(con.sql(USERS_SQL, params=params), staging / "users.parquet", USERS)
        con.sql(
            MEMBERSHIPS_SQL, params={"users": users, "groups": groups, "memberships": memberships}
        ).to_table("memberships")
        rows_members = write_table(con.table("memberships"), staging / "memberships.parquet", MEMBERSHIPS)
        rows_groups = write_table(con.sql(GROUPS_SQL), staging / "groups.parquet", GROUPS)
        manifest = Manifest(
            "bench",
            "c1",
            "full",
            rows={"users": rows_users, "groups": rows_groups, "memberships": rows_members},
        )
        atomic_write_json(staging / "manifest.json", manifest.to_json())
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
    return ref.path


def _median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), statistics.median(r.peak_rss_mb for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--memberships", type=int, default=5_000_000)
    parser.add_argument("--faults", type=float, default=0.0, help="share of users with a schema fault")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = WORK / f"data-{args.users}-{args.groups}-{args.memberships}-{args.faults}"
    if args.generate_only:
        generate(data, args.users, args.groups, args.memberships, args.faults)
        return
    if not (data / "exports").is_dir():  # in a child: children inherit this process's peak RSS
        subprocess.run([sys.executable, __file__, "--generate-only", *sys.argv[1:]], check=True)
    export = Store(data).export("bench", "c1").path
    sizes = {p.name: p.stat().st_size / 1024**2 for p in export.glob("*.parquet")}
    recon_exe = str(Path(sys.executable).with_name("recon"))
    results: dict[str, list[Run]] = {name: [] for name in (*EXTRA, "validate")}
    for _ in range(args.runs):  # interleaved, so a busy machine weighs on every variant alike
        for name, (extra_users, extra_groups) in EXTRA.items():
            query = FLOOR.format(extra_users=extra_users, extra_groups=extra_groups)
            results[name].append(timed_child(SCAN_CHILD, str(export), query))
        results["validate"].append(timed_child(VALIDATE_CHILD, str(data)))
    command = measured_in_child(
        [recon_exe, "validate", "--system", "bench", "--cycle", "c1", "--data-dir", str(data)]
    )
    summary = json.loads((data / "validation" / "system=bench" / "cycle=c1" / "summary.json").read_text())
    medians = {name: _median(runs) for name, runs in results.items()}
    floor = medians["floor"].seconds
    load = subprocess.run(["cat", "/proc/loadavg"], capture_output=True, text=True).stdout.split()[:3]
    lines = [
        "# recon validate: 1M-user export against the DuckDB scan floor",
        "",
        f"Export: {args.users:,} users, {args.groups:,} groups, {args.memberships:,} memberships"
        f" ({', '.join(f'{k} {v:.0f} MB' for k, v in sorted(sizes.items()))}); schema faults in"
        f" {args.faults:.1%} of users. Findings: {summary['total']:,} ({summary['counts']['by_kind']});"
        f" shapes: {summary['shapes']}.",
        "",
        f"Machine: {machine()}; load average at the end {' '.join(load)}. {versions('duckdb', 'pyarrow')}.",
        f"Medians of {args.runs} runs, each in a fresh process (timed around the work, not the interpreter"
        " start), interleaved; ratio to the floor of the same run.",
        "",
        "| run | seconds (median) | ratio to floor | peak RSS MB | all runs (s) |",
        "|---|---|---|---|---|",
    ]
    labels = {
        "floor": "floor: DuckDB scan of every column of the 3 files",
        "one_parse": "floor + one JSON parse of every raw",
        "json_structure": "floor + json_structure of every raw",
        "validate": "validate_export (the work of `recon validate --system`)",
    }
    for name, label in labels.items():
        m = medians[name]
        all_runs = ", ".join(f"{r.seconds:.2f}" for r in results[name])
        lines.append(
            f"| {label} | {m.seconds:.2f} | {m.seconds / floor:.2f}x | {m.peak_rss_mb:.0f} | {all_runs} |"
        )
    lines += [
        "",
        f"The whole command `recon validate --system bench` once: {command.seconds:.2f} s wall"
        f" (peak RSS {command.peak_rss_mb:.0f} MB), including the interpreter and CLI start.",
    ]
    path = write_result("validate", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
