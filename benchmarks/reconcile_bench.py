"""Benchmark of ``recon reconcile`` against the DuckDB floor, on a directory whose target assigns its own ids.

    .venv/bin/python benchmarks/reconcile_bench.py                       # 1M users, 3 runs
    .venv/bin/python benchmarks/reconcile_bench.py --users 10000000 --runs 1 --memory-limit 4GB

Inputs are generated with DuckDB straight into the CONTRACT §3 layout (system ``idp`` and
``app``, one cycle): ~8 memberships per user, targets with their own user and group ids,
and a known number of faults of every kind (the expected counts are computed here and
checked against the findings, so every timed run is also an exactness check at scale).

Each measurement runs in a fresh child process (timed inside it, peak RSS from ``wait4``):
(a) the floor: DuckDB reading every column of the six input Parquet files;
(b) ``recon.reconcile.reconcile`` (the use case behind ``recon reconcile``), and once the
    whole CLI command for the wall time including interpreter start-up.
Figures go to ``benchmarks/results/reconcile.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recon import __version__  # noqa: E402
from recon.engine.duckdb import connect, size_bytes  # noqa: E402
from recon.store import Manifest, Store, atomic_write_json  # noqa: E402

CYCLE = "20260105T020000Z"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Source user i (0 <= i < N). Faults and traps by i % 100 (see expected_counts):
#  3 source inactive, target still active     -> delayed_deactivation
#  7 no target account                        -> missing_in_target
# 11 target has no externalId, userName upper-cased: matched by rule 2, no finding (case trap)
# 19 target department differs               -> attribute_mismatch department
# 23 target title differs                    -> attribute_mismatch title
# 29 target emails reordered, case changed   -> no finding (trap)
# 31 source title "" and target title absent -> no finding (trap)
# 37 target inactive                         -> delayed_activation
# 41 target lacks the user's first group     -> membership_missing
# 43 target has one extra group              -> membership_excess (critical in group 0, "admins")
# 53 source inactive, target inactive        -> no finding
# i % 10000 == 9999: a second target account claims the user by externalId -> 2 ambiguous_match
# Plus N/100 orphaned target accounts (active), an empty source group missing in the target, a
# target-only group, and nested groups g -> g+100 (g < 100), whose nesting the target lacks for g = 5.

SOURCE_USERS = """
COPY (
    SELECT
        md5('s' || i) AS id,
        CAST(NULL AS VARCHAR) AS external_id,
        'user' || i || '@example.com' AS user_name,
        i % 50 <> 3 AS active,
        'Given' || (i % 1000) || ' Family' || (i % 5000) AS display_name,
        'Given' || (i % 1000) AS given_name,
        'Family' || (i % 5000) AS family_name,
        [{'value': 'user' || i || '@example.com', 'type': 'work', 'primary': true},
         {'value': 'u' || i || '@home.example.org', 'type': 'home', 'primary': false}] AS emails,
        'user' || i || '@example.com' AS primary_email,
        CAST(100000 + i AS VARCHAR) AS employee_number,
        'dept-' || (i % 50) AS department,
        CASE WHEN i % 100 = 31 THEN '' ELSE 'title-' || (i % 97) END AS title,
        md5('s' || (i // 10 * 10)) AS manager_id,
        'Employee' AS user_type,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i % 86400) AS created,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400) AS last_modified,
        'W/"1"' AS version,
        CAST(to_json({
            'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '{enterprise}'],
            'id': md5('s' || i),
            'userName': 'user' || i || '@example.com',
            'active': i % 50 <> 3,
            'displayName': 'Given' || (i % 1000) || ' Family' || (i % 5000),
            'name': {'givenName': 'Given' || (i % 1000), 'familyName': 'Family' || (i % 5000)},
            'emails': [{'value': 'user' || i || '@example.com', 'type': 'work', 'primary': true},
                       {'value': 'u' || i || '@home.example.org', 'type': 'home', 'primary': false}],
            'title': CASE WHEN i % 100 = 31 THEN '' ELSE 'title-' || (i % 97) END,
            'userType': 'Employee',
            '{enterprise}': {'employeeNumber': CAST(100000 + i AS VARCHAR), 'department': 'dept-' || (i % 50),
                             'manager': {'value': md5('s' || (i // 10 * 10))}},
            'meta': {'resourceType': 'User', 'created': '2025-01-01T00:00:00Z',
                     'lastModified': '2026-01-01T00:00:00Z', 'version': 'W/"1"'}
        }) AS VARCHAR) AS raw
    FROM range({n}) AS t(i)

) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

TARGET_USERS = """
COPY (
    WITH base AS (
        SELECT
            i,
            md5('t' || i) AS id,
            CASE WHEN i % 100 = 11 THEN NULL ELSE md5('s' || i) END AS external_id,
            CASE WHEN i % 100 = 11 THEN upper('user' || i || '@example.com')
                 ELSE 'user' || i || '@example.com' END AS user_name,
            NOT (i % 100 IN (37, 53)) AS active,
            CASE WHEN i % 100 = 29
                THEN [{'value': 'u' || i || '@home.example.org', 'type': 'home', 'primary': false},
                      {'value': 'USER' || i || '@Example.com', 'type': 'work', 'primary': true}]
                ELSE [{'value': 'user' || i || '@example.com', 'type': 'work', 'primary': true},
                      {'value': 'u' || i || '@home.example.org', 'type': 'home', 'primary': false}]
            END AS emails,
            CASE WHEN i % 100 = 29 THEN 'USER' || i || '@Example.com' ELSE 'user' || i || '@example.com' END
                AS primary_email,
            CASE WHEN i % 100 = 19 THEN 'dept-other' ELSE 'dept-' || (i % 50) END AS department,
            CASE WHEN i % 100 = 31 THEN NULL WHEN i % 100 = 23 THEN 'title-changed'
                ELSE 'title-' || (i % 97) END AS title
        FROM range({n}) AS t(i)
        WHERE i % 100 <> 7
        UNION ALL
        SELECT i, md5('d' || i), md5('s' || i), 'dup' || i || '@example.com', true,
            [{'value': 'dup' || i || '@example.com', 'type': 'work', 'primary': true}],
            'dup' || i || '@example.com', 'dept-' || (i % 50), 'title-' || (i % 97)
        FROM range({n}) AS t(i)
        WHERE i % 10000 = 9999
        UNION ALL
        SELECT -1 - j, md5('o' || j), NULL, 'orphan' || j || '@example.com', true,
            [{'value': 'orphan' || j || '@example.com', 'type': 'work', 'primary': true}],
            'orphan' || j || '@example.com', 'dept-0', 'title-0'
        FROM range({orphans}) AS t(j)
    )
    SELECT
        id, external_id, user_name, active,
        'Given' || (abs(i) % 1000) || ' Family' || (abs(i) % 5000) AS display_name,
        'Given' || (abs(i) % 1000) AS given_name,
        'Family' || (abs(i) % 5000) AS family_name,
        emails, primary_email,
        CAST(100000 + i AS VARCHAR) AS employee_number,
        department, title,
        md5('t' || (i // 10 * 10)) AS manager_id,
        'Employee' AS user_type,
        TIMESTAMPTZ '2025-02-01 00:00:00+00' AS created,
        TIMESTAMPTZ '2026-01-02 00:00:00+00' AS last_modified,
        'W/"3"' AS version,
        CAST(to_json({
            'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '{enterprise}'],
            'id': id, 'externalId': external_id, 'userName': user_name, 'active': active,
            'name': {'givenName': 'Given' || (abs(i) % 1000), 'familyName': 'Family' || (abs(i) % 5000)},
            'emails': emails, 'title': title, 'userType': 'Employee',
            '{enterprise}': {'employeeNumber': CAST(100000 + i AS VARCHAR), 'department': department},
            'meta': {'resourceType': 'User', 'created': '2025-02-01T02:00:00+02:00',
                     'lastModified': '2026-01-02T00:00:00Z', 'version': 'W/"3"'}
        }) AS VARCHAR) AS raw
    FROM base

) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

GROUPS = """
COPY (
    SELECT
        {id_expr} AS id,
        {external_expr} AS external_id,
        {name_expr} AS display_name,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' AS created,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' AS last_modified,
        'W/"1"' AS version,
        CAST(to_json({'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group'], 'id': {id_expr},
                      'displayName': {name_expr}}) AS VARCHAR) AS raw
    FROM range({count}) AS t(g)
    {where}

) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

# user i is in groups (i*31 + k*977) % (G-1) for k < 6 + i % 5 (group G-1 stays empty)
SOURCE_MEMBERSHIPS = """
COPY (
    SELECT md5('sg' || ((i * 31 + k * 977) % ({g} - 1))) AS group_id, md5('s' || i) AS member_id,
        'User' AS member_type
    FROM range({n}) AS t(i), range(6 + i % 5) AS r(k)
    UNION ALL
    SELECT md5('sg' || g), md5('sg' || (g + 100)), 'Group' FROM range(100) AS t(g)
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

TARGET_MEMBERSHIPS = """
COPY (
    SELECT md5('tg' || ((i * 31 + k * 977) % ({g} - 1))) AS group_id, md5('t' || i) AS member_id,
        'User' AS member_type
    FROM range({n}) AS t(i), range(6 + i % 5 + CASE WHEN i % 100 = 43 THEN 5 ELSE 0 END) AS r(k)
    WHERE i % 100 <> 7 AND NOT (i % 100 = 41 AND k = 0)
        AND (k < 6 + i % 5 OR k = 10)
    UNION ALL
    SELECT md5('tg' || g), md5('tg' || (g + 100)), 'Group' FROM range(100) AS t(g) WHERE g <> 5
    UNION ALL
    SELECT md5('tg-legacy'), md5('t' || i), 'User' FROM range(least({n}, 50)) AS t(i)
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""


def expected_counts(n: int, groups: int) -> Counter[tuple[str, str]]:
    """The findings the generated directories must give, per (kind, severity)."""
    expected: Counter[tuple[str, str]] = Counter()
    for i in range(n):
        r = i % 100
        if i % 10000 == 9999:
            expected["ambiguous_match", "high"] += 2
            continue
        if r == 7:
            expected["missing_in_target", "high"] += 1
        elif r == 3:
            expected["delayed_deactivation", "critical"] += 1
        elif r == 37:
            expected["delayed_activation", "medium"] += 1
        elif r in (19, 23):
            expected["attribute_mismatch", "medium"] += 1
        elif r == 41:
            expected["membership_missing", "medium"] += 1
        elif r == 43:
            privileged = (i * 31 + 10 * 977) % (groups - 1) == 0
            expected["membership_excess", "critical" if privileged else "high"] += 1
    expected["orphaned_in_target", "critical"] += n // 100
    expected["group_missing_in_target", "medium"] += 1
    expected["group_orphaned_in_target", "medium"] += 1
    expected["membership_missing", "medium"] += 1  # nested group 105 in group 5
    return expected


def generate(data: Path, n: int, memory_limit: str) -> int:
    """Write both exports (skipped when ``data`` already holds them); returns the group count."""
    groups = max(1000, n // 100)
    marker = data / f"generated-{n}.json"
    if marker.is_file():
        return groups
    shutil.rmtree(data, ignore_errors=True)
    store = Store(data)
    con = connect(temp_dir=store.temp_dir, memory_limit=memory_limit)
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    started = time.perf_counter()
    for system in ("idp", "app"):
        ref = store.export(system, CYCLE, "full")
        with store.publishing(ref.path) as staging:
            source = system == "idp"
            fill = {"n": n, "g": groups, "orphans": n // 100, "enterprise": ENTERPRISE}

            def copy(template: str, table: str, fill: dict[str, object] = fill, **extra: object) -> None:
                unsorted = staging / f"{table}.unsorted.parquet"
                values = {**fill, **extra, "path": str(unsorted)}
                for key, value in values.items():  # placeholders by replace: the SQL is full of braces
                    template = template.replace("{" + key + "}", str(value))
                con.execute(template)
                # ordered as ExportWriter writes real exports (a second pass: sorting wide rows while
                # generating them needs more memory)
                order = "group_id, member_id" if table == "memberships" else "id"
                con.execute(
                    f"COPY (SELECT * FROM read_parquet(?) ORDER BY {order}) "
                    f"TO '{staging / f'{table}.parquet'}' (FORMAT parquet, COMPRESSION zstd)",
                    [str(unsorted)],
                )
                unsorted.unlink()

            copy(SOURCE_USERS if source else TARGET_USERS, "users")
            if source:
                copy(
                    GROUPS,
                    "groups",
                    id_expr="md5('sg' || g)",
                    external_expr="CAST(NULL AS VARCHAR)",
                    name_expr="CASE WHEN g = 0 THEN 'admins' ELSE 'group-' || g END",
                    count=groups,
                    where="",
                )
            else:
                copy(
                    GROUPS,
                    "groups",
                    id_expr=f"CASE WHEN g = {groups} THEN md5('tg-legacy') ELSE md5('tg' || g) END",
                    external_expr=f"CASE WHEN g % 10 = 5 OR g = {groups} THEN NULL ELSE md5('sg' || g) END",
                    name_expr=(
                        f"CASE WHEN g = {groups} THEN 'legacy' WHEN g = 0 THEN 'admins' "
                        "WHEN g % 10 = 5 THEN upper('group-' || g) ELSE 'group-' || g END"
                    ),
                    count=groups + 1,
                    where=f"WHERE g <> {groups - 1}",
                )
            copy(SOURCE_MEMBERSHIPS if source else TARGET_MEMBERSHIPS, "memberships")
            manifest = Manifest(system=system, cycle=CYCLE, kind="full", origin={"method": "benchmark"})
            atomic_write_json(staging / "manifest.json", manifest.to_json())
    con.close()
    (data / "recon.toml").write_text('[reconcile.idp.app]\nprivileged_groups = ["admins"]\n')
    marker.write_text(json.dumps({"users": n, "seconds": time.perf_counter() - started}))
    return groups


FLOOR = """
import json, sys, time
sys.path.insert(0, {root!r})
from recon.engine.duckdb import connect
# DuckDB's own default limit: the floor is DuckDB's scan, not a recon process held to --memory-limit
# (reading the users' raw JSON, 2 threads need ~1.2 GB: under 1.25GB it ran out of memory)
con = connect(temp_dir=__import__('pathlib').Path({tmp!r}))
files = {files!r}


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


started = time.perf_counter()
for path in files:
    scan = "read_parquet(?, hive_partitioning = false)"
    columns = con.sql("DESCRIBE SELECT * FROM " + scan, params=[path]).fetchall()
    aggregates = ", ".join(read(row[0], row[1]) for row in columns)
    con.sql("SELECT " + aggregates + " FROM " + scan, params=[path]).fetchall()
print(json.dumps({{"seconds": time.perf_counter() - started}}))
"""

RECONCILE = """
import json, sys, time
sys.path.insert(0, {root!r})
import recon
assert recon.__file__.startswith({root!r}), recon.__file__  # the checkout asked for, not the installed one
from recon.config import load_config
from recon.reconcile import reconcile
from recon.store import Store
config = load_config(__import__("pathlib").Path({data!r}) / "recon.toml")
started = time.perf_counter()
summary = reconcile(Store({data!r}), "idp", "app", config=config, memory_limit={limit!r})
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "counts": summary.to_json()["counts"], "kinds": {kinds}}}))
"""


PROFILE = """
import collections, json, sys, time
sys.path.insert(0, {root!r})
from recon.config import load_config
from recon.engine import duckdb as engine
from recon.reconcile import reconcile
from recon.store import Store

# where the time goes: each statement is timed where the session computes it (a kept result, the
# findings written, rows fetched), wall and process CPU, and DuckDB's profiler sums its operators
steps = []
current = ["?"]
run, keep = engine.DuckDBSession.run, engine.DuckDBSession._keep


def named_run(self, name, params=None, inputs=None, *, keep=False):
    current[0] = name
    if not getattr(self, "_profiled", False):
        self.con.execute("SET enable_profiling = 'json'")
        self.con.execute("SET profiling_output = {out!r}")
        self._profiled = True
    return run(self, name, params, inputs, keep=keep)


def operators(node, totals):
    if node.get("name"):
        totals[node["name"]] += node.get("timing", 0.0)
    for child in node.get("children", []):
        operators(child, totals)
    return totals


def timed(how, method):
    def wrapper(self, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = method(self, *args, **kwargs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        totals = collections.Counter()
        for node in json.loads(self.con.get_profiling_information(format="json")).get("operator", []):
            operators(node, totals)
        steps.append([current[0], how, wall, cpu, totals.most_common(4)])
        return result
    return wrapper


engine.DuckDBSession.run = named_run
engine.DuckDBSession._keep = timed("kept", keep)
for method in ("write_parquet", "rows", "tuples"):
    setattr(engine.DuckDBSession, method, timed(method, getattr(engine.DuckDBSession, method)))
config = load_config(__import__("pathlib").Path({data!r}) / "recon.toml")
started, cpu = time.perf_counter(), time.process_time()
reconcile(Store({data!r}), "idp", "app", config=config, memory_limit={limit!r})
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({{"seconds": seconds, "cpu": cpu, "steps": steps}}))
"""


def profile_lines(data: Path, limit: str | None, lock: Path | None) -> list[str]:
    """One profiled reconcile(): per statement, wall and CPU seconds and DuckDB's top operators."""
    code = PROFILE.format(
        root=str(ROOT), data=str(data), limit=limit, out=str(data / ".tmp" / "profile.json")
    )
    answer, _, _ = child(code, lock)
    seconds, cpu = float(answer["seconds"]), float(answer["cpu"])  # type: ignore[arg-type]
    lines = [
        "Where the time goes (one profiled run after the runs above, DuckDB's profiler on, which slows it: "
        f"{seconds:.2f} s, CPU {cpu:.1f} s, load {os.getloadavg()[0]:.1f}). Per statement: wall and process "
        "CPU seconds where the session computes it, and the operators with the most thread time (busy or "
        "waiting for a core on a loaded machine; it is their proportions that tell):",
        "",
        "| statement | computed as | wall s | CPU s | share of CPU | top operators (thread s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, how, wall, step_cpu, top in answer["steps"]:  # type: ignore[attr-defined]
        ops = ", ".join(f"{op} {t:.2f}" for op, t in top if t >= 0.01)
        lines.append(f"| {name} | {how} | {wall:.2f} | {step_cpu:.2f} | {step_cpu / cpu:.0%} | {ops} |")
    return [*lines, ""]


BOUND = """
import json, sys, time
sys.path.insert(0, {root!r})
from recon.engine.duckdb import connect
con = connect(temp_dir=__import__('pathlib').Path({tmp!r}), memory_limit={limit!r})
files = {files!r}
# the membership comparison's parts, each on its own over both memberships files: what a per-user
# fingerprint costs at least (read the member ids; hash them into one group per member), and what
# the second pass costs at least (read the files again for the few members whose prints differ)
parts = {{
    "read member ids": "SELECT sum(strlen(member_id)), count(group_id) FROM read_parquet(?)",
    "read and hash member ids": (
        "SELECT bit_xor(fp64(member_id)), bit_xor(fp64(group_id)) FROM read_parquet(?)"
    ),
    "per-member fingerprints (1 group per member)": (
        "SELECT count(*), sum(n), bit_xor(x), sum(s) FROM (SELECT fp64(member_id) AS k, count(*) AS n, "
        "bit_xor(fp64(group_id)) AS x, sum(CAST(fp64(group_id) AS HUGEINT)) AS s "
        "FROM read_parquet(?) GROUP BY k)"
    ),
    "second pass: 2% of the members": (
        "SELECT count(*), sum(strlen(group_id)) FROM read_parquet(?) "
        "WHERE fp64(member_id) % 50 = 0 OR member_type IS DISTINCT FROM 'User'"
    ),
}}
out = {{}}
for name, sql in parts.items():
    wall, cpu = time.perf_counter(), time.process_time()
    for path in files:
        con.sql(sql, params=[path]).fetchall()
    out[name] = [time.perf_counter() - wall, time.process_time() - cpu]
print(json.dumps({{"seconds": 0, "parts": out}}))
"""


def bound_lines(data: Path, files: list[str], limit: str | None, lock: Path | None) -> list[str]:
    """The membership comparison's parts timed alone (one fresh process): the least its two passes cost."""
    memberships = [f for f in files if f.endswith("memberships.parquet")]
    code = BOUND.format(root=str(ROOT), tmp=str(data / ".tmp"), limit=limit, files=memberships)
    answer, _, _ = child(code, lock)
    lines = [
        "What the membership comparison costs at least: its parts alone over both memberships files "
        f"(one process, load {os.getloadavg()[0]:.1f}):",
        "",
        "| part | wall s | CPU s |",
        "|---|---|---|",
    ]
    for name, (wall, cpu) in answer["parts"].items():  # type: ignore[attr-defined]
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    return [*lines, ""]


MINIMAL = """
import json, sys, time
sys.path.insert(0, {root!r})
from recon.engine.duckdb import connect
con = connect(temp_dir=__import__('pathlib').Path({tmp!r}), memory_limit={limit!r})
su, sg, sm, tu, tg, tm = ("read_parquet('" + f + "')" for f in {files!r})
# the least each step of reconcile must do, as plain DuckDB statements over the exports (each reads
# only the columns it needs, from the files): the bound of what any exact implementation on this
# engine costs. Each is less than the step it stands for: correlation ignores ambiguity and rule 2,
# the attribute comparison compares the raw columns (primary_email for emails[primary]), the
# membership comparison only reads and hashes the ids (any implementation reads them at least)
parts = {{
    "correlation: source id = target externalId, one hash join, kept": (
        "CREATE TEMP TABLE pairs AS SELECT s.id AS source_id, t.id AS target_id FROM " + su + " AS s JOIN "
        + tu + " AS t ON t.external_id = s.id"
    ),
    "account findings: each side's accounts anti-joined to the pairs; the inactive targets' pairs": (
        "SELECT (SELECT count(*) FROM " + su + " AS s ANTI JOIN pairs AS p ON p.source_id = s.id "
        "WHERE s.active), "
        "(SELECT count(*) FROM " + tu + " AS t ANTI JOIN pairs AS p ON p.target_id = t.id), "
        "(SELECT count(*) FROM pairs AS p SEMI JOIN (SELECT id FROM " + tu + " WHERE NOT active) AS t "
        "ON t.id = p.target_id)"
    ),
    "attribute comparison: the pairs joined to both sides' seven compared columns, compared": (
        "SELECT count(*) FROM pairs AS p JOIN " + su + " AS s ON s.id = p.source_id JOIN " + tu
        + " AS t ON t.id = p.target_id WHERE lower(s.user_name) IS DISTINCT FROM lower(t.user_name) "
        "OR s.active IS DISTINCT FROM t.active OR lower(s.given_name) IS DISTINCT FROM lower(t.given_name) "
        "OR lower(s.family_name) IS DISTINCT FROM lower(t.family_name) "
        "OR lower(s.primary_email) IS DISTINCT FROM lower(t.primary_email) "
        "OR lower(s.title) IS DISTINCT FROM lower(t.title) "
        "OR lower(s.department) IS DISTINCT FROM lower(t.department)"
    ),
    "memberships: both files' member and group ids read and hashed": (
        "SELECT (SELECT bit_xor(xor(fp64(member_id), fp64(group_id))) FROM " + sm + "), "
        "(SELECT bit_xor(xor(fp64(member_id), fp64(group_id))) FROM " + tm + ")"
    ),
}}
out = {{}}
started = time.perf_counter()
for name, sql in parts.items():
    wall, cpu = time.perf_counter(), time.process_time()
    con.sql(sql).fetchall() if sql.startswith("SELECT") else con.execute(sql)
    out[name] = [time.perf_counter() - wall, time.process_time() - cpu]
print(json.dumps({{"seconds": time.perf_counter() - started, "parts": out}}))
"""


def minimal_lines(step: Step, floor: Step, after: Step) -> list[str]:
    """The minimal statements' medians per part and in all, against the floor of the same runs."""
    floor_cpu = statistics.median(floor.cpu)
    names = list(step.answers[0]["parts"])  # type: ignore[call-overload]
    lines = [
        "The least any exact implementation on this engine does (step (m), interleaved with the others "
        "above; per part: medians of the wall and process CPU seconds inside the child; in all: the "
        "child's CPU from wait4, interpreter start included as for the floor):",
        "",
        "| minimal statement | median wall s | median CPU s | CPU / floor |",
        "|---|---|---|---|",
    ]
    for name in names:
        walls = [a["parts"][name][0] for a in step.answers]  # type: ignore[index]
        cpus = [a["parts"][name][1] for a in step.answers]  # type: ignore[index]
        lines.append(
            f"| {name} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | "
            f"{statistics.median(cpus) / floor_cpu:.2f}x |"
        )
    lines += [
        f"| all of (m), one process | {statistics.median(step.seconds):.2f} | "
        f"{statistics.median(step.cpu):.2f} | **{statistics.median(step.cpu) / floor_cpu:.2f}x** |",
        f"| reconcile (b), for comparison | {statistics.median(after.seconds):.2f} | "
        f"{statistics.median(after.cpu):.2f} | {statistics.median(after.cpu) / floor_cpu:.2f}x |",
        "",
    ]
    return lines


def dir_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist); files may vanish meanwhile."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(folder, name)).st_blocks * 512  # allocated, not apparent
    return total


class SpillWatch:
    """Samples the size of DuckDB's spill folder every half second while a child runs; the peak in MB."""

    def __init__(self, path: Path) -> None:
        self.path, self.peak = path, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, dir_bytes(self.path))

    def __enter__(self) -> SpillWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 1024**2


def child(code: str, lock: Path | None = None) -> tuple[dict[str, object], float, float]:
    """Run ``code`` in a fresh Python (under ``flock lock`` when given: one measurement per turn of
    the shared big-memory lock); its JSON answer, its peak RSS in MiB and its CPU seconds."""
    command = [sys.executable, "-c", code]
    if lock is not None:  # wait4 on flock reports the largest RSS and the CPU of the Python it waited for
        command = ["flock", str(lock), *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child failed with exit code {process.returncode}")
    cpu = usage.ru_utime + usage.ru_stime  # includes interpreter start-up (~the same in both children)
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024, cpu


@dataclass
class Step:
    """The runs of one measured step: seconds (timed inside the child), peak RSS, CPU, spill."""

    label: str
    code: str
    seconds: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    spill: list[float] = field(default_factory=list)
    answers: list[dict[str, object]] = field(default_factory=list)

    def measure(self, data: Path, lock: Path | None) -> dict[str, object]:
        with SpillWatch(data / ".tmp") as watch:
            answer, rss, cpu = child(self.code, lock)
        self.answers.append(answer)
        self.seconds.append(float(answer["seconds"]))  # type: ignore[arg-type]
        self.rss.append(rss)
        self.cpu.append(cpu)
        self.spill.append(watch.peak_mb)
        return answer

    def row(self) -> str:
        return (
            f"| {self.label} | {statistics.median(self.seconds):.2f} | "
            f"{', '.join(f'{x:.2f}' for x in self.seconds)} | {statistics.median(self.cpu):.1f} | "
            f"{max(self.rss):,.0f} MiB | {max(self.spill):,.0f} MiB |"
        )

    def brief(self) -> str:
        return (
            f"{self.label.split(':')[0]} {self.seconds[-1]:.2f} s ({self.rss[-1]:.0f} MiB, "
            f"cpu {self.cpu[-1]:.1f} s, spill {self.spill[-1]:.0f} MiB)"
        )


def cli_wall(data: Path, limit: str | None, lock: Path | None) -> tuple[float, float, int]:
    """The whole ``recon reconcile`` command once: wall seconds (after the lock), peak RSS, exit code."""
    args = [
        sys.executable,
        "-m",
        "recon",
        "reconcile",
        "--source",
        "idp",
        "--target",
        "app",
        "--data-dir",
        str(data),
    ]
    if limit:
        args += ["--memory-limit", limit]
    timed = [sys.executable, "-c", CLI_TIMED, *args]  # timed inside the lock, not while waiting for it
    if lock is not None:
        timed = ["flock", str(lock), *timed]
    process = subprocess.Popen(timed, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds, code = json.loads(out.strip().splitlines()[-1])
    return float(seconds), usage.ru_maxrss / 1024, int(code) if os.waitstatus_to_exitcode(status) == 0 else -1


CLI_TIMED = """
import json, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(json.dumps([time.perf_counter() - started, code]))
"""


def check_findings(data: Path, expected: Counter[tuple[str, str]]) -> None:
    got = findings_rows({}, data)
    if got != expected:
        diff = {
            k: (got.get(k, 0), expected.get(k, 0))
            for k in set(got) | set(expected)
            if got.get(k) != expected.get(k)
        }
        raise SystemExit(f"findings differ from the generated truth (got, expected): {diff}")


def findings_digest(data: Path) -> str:
    """sha256 of the findings file a reconcile step wrote."""
    path = data / "findings" / "source=idp" / "target=app" / f"cycle={CYCLE}" / "findings.parquet"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def findings_rows(counts: dict[str, dict[str, int]], data: Path) -> Counter[tuple[str, str]]:
    import polars as pl

    path = data / "findings" / "source=idp" / "target=app" / f"cycle={CYCLE}" / "findings.parquet"
    frame = pl.read_parquet(path).group_by("kind", "severity").len()
    return Counter({(row["kind"], row["severity"]): row["len"] for row in frame.iter_rows(named=True)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory-limit", default=None, help="--memory-limit for floor and reconcile")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of recon whose reconcile() is measured in the same run",
    )
    parser.add_argument(
        "--before-label", default="main", help="what --before is, for the results (e.g. a commit)"
    )
    parser.add_argument(
        "--lock",
        type=Path,
        default=None,
        help="run each measurement under `flock LOCK` (10M: /work/wt/bigmem.lock)",
    )
    parser.add_argument("--profile", action="store_true", help="add one profiled run: time per statement")
    parser.add_argument("--skip-cli", action="store_true", help="do not time the whole CLI command once")
    parser.add_argument(
        "--bound", action="store_true", help="add the membership passes timed alone (their least cost)"
    )
    parser.add_argument(
        "--minimal", action="store_true", help="add step (m): the least each step must do, interleaved"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "reconcile")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reconcile.md")
    parser.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    data = args.work / f"users-{args.users}"
    if args.generate_only:
        generate(data, args.users, "8GB")
        return
    started = time.perf_counter()
    # generated in a child: a child forked from a big parent would report the parent's peak RSS
    generate_args = ["--generate-only", "--users", str(args.users), "--work", str(args.work)]
    subprocess.run([sys.executable, __file__, *generate_args], check=True)
    groups = max(1000, args.users // 100)
    print(f"inputs ready in {time.perf_counter() - started:.1f} s: {data}", flush=True)
    expected = expected_counts(args.users, groups)
    files = [
        str(data / "exports" / f"system={s}" / f"cycle={CYCLE}" / "kind=full" / f"{t}.parquet")
        for s in ("idp", "app")
        for t in ("users", "groups", "memberships")
    ]
    sizes = sum(Path(f).stat().st_size for f in files) / 1024**2
    floor_code = FLOOR.format(root=str(ROOT), tmp=str(data / ".tmp"), files=files)
    reconcile_code = RECONCILE.format(root=str(ROOT), data=str(data), limit=args.memory_limit, kinds="None")
    if args.runs == 0:  # --runs 0 --profile --append: only the profiled run, added to the results
        heading = f"### Where the time goes, {args.users:,} source users" + (
            f", --memory-limit {args.memory_limit}" if args.memory_limit else ""
        )
        lines = [heading, "", *profile_lines(data, args.memory_limit, args.lock)]
        if args.bound:
            lines += bound_lines(data, files, args.memory_limit, args.lock)
        write(args, "\n".join(lines))
        return
    floor = Step("(a) floor: DuckDB reads every column of the six files", floor_code)
    steps = [floor]
    if args.before is not None:
        before_code = RECONCILE.format(
            root=str(args.before.resolve()), data=str(data), limit=args.memory_limit, kinds="None"
        )
        steps.append(Step(f"(b0) `reconcile()` before, from {args.before_label}", before_code))
    after = Step("(b) `reconcile()` (correlate, compare, write findings + summary)", reconcile_code)
    steps.append(after)
    minimal = None
    if args.minimal:
        minimal_code = MINIMAL.format(
            root=str(ROOT), tmp=str(data / ".tmp"), limit=args.memory_limit, files=files
        )
        minimal = Step("(m) the least each step must do (minimal statements, below)", minimal_code)
        steps.append(minimal)
    loads = []
    digests: dict[str, set[str]] = {}  # sha256 of findings.parquet written by each reconcile step
    for run in range(args.runs):
        # interleaved, and the order rotated each run, so no step always runs on a warmer or calmer machine
        order = steps[run % len(steps) :] + steps[: run % len(steps)]
        for step in order:
            step.measure(data, args.lock)
            if step is not floor and step is not minimal:
                check_findings(data, expected)
                digests.setdefault(step.label, set()).add(findings_digest(data))
        loads.append(os.getloadavg())
        print(
            f"run {run + 1}: " + ", ".join(step.brief() for step in steps) + f", load {loads[-1][0]:.1f}",
            flush=True,
        )
    # the whole command once (skipped with --skip-cli: at 10M one more reconcile takes minutes)
    wall, wall_rss, code = (0.0, 0.0, -1) if args.skip_cli else cli_wall(data, args.memory_limit, args.lock)
    floor_s = statistics.median(floor.seconds)
    rec = statistics.median(after.seconds)
    ratios = [r / f for r, f in zip(after.seconds, floor.seconds, strict=True)]
    cpu_ratio = statistics.median(after.cpu) / statistics.median(floor.cpu)
    lines = [
        f"## {args.users:,} source users, ~{8 * args.users:,} memberships per side, target with its own ids"
        + (f", --memory-limit {args.memory_limit}" if args.memory_limit else ""),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM, Python "
        f"{platform.python_version()}. Versions: recon {__version__}, duckdb "
        f"{metadata.version('duckdb')}, pyarrow {metadata.version('pyarrow')}. Input: six Parquet "
        f"files ordered as exports are written, {sizes:,.0f} MB; {groups:,} groups.",
        f"Runs: {args.runs}, the steps interleaved in each (order rotated run by run), each measurement in a "
        "fresh process (peak RSS and CPU from wait4)"
        + (", each under `flock` of the shared big-memory lock" if args.lock else "")
        + ". A shared machine: other jobs ran during the runs (load below).",
        "",
        "| step | median s | runs (s) | median CPU s | peak RSS (max) | peak spill in `.tmp` (max) |",
        "|---|---|---|---|---|---|",
        *(step.row() for step in steps),
        *(
            []
            if args.skip_cli
            else [
                f"| `recon reconcile` CLI, wall incl. interpreter start (once, exit {code}) | "
                f"{wall:.2f} | | | {wall_rss:,.0f} MiB | |"
            ]
        ),
        "",
        f"Ratio (b)/(a) of the medians: **{rec / floor_s:.2f}x**; per run: "
        f"{', '.join(f'{x:.2f}x' for x in ratios)} (median {statistics.median(ratios):.2f}x); CPU time "
        f"{cpu_ratio:.2f}x.",
    ]
    if args.before is not None:
        before = steps[1]
        before_ratios = [r / f for r, f in zip(before.seconds, floor.seconds, strict=True)]
        lines.append(
            f"Before (b0)/(a): **{statistics.median(before.seconds) / floor_s:.2f}x** (per run "
            f"{', '.join(f'{x:.2f}x' for x in before_ratios)}); CPU time "
            f"{statistics.median(before.cpu) / statistics.median(floor.cpu):.2f}x."
        )
    every = set().union(*digests.values())
    lines.append(
        "Findings Parquet byte-identical across every reconcile run"
        + (" (before and after)" if args.before is not None else "")
        + (f": yes, sha256 {next(iter(every))[:16]}…" if len(every) == 1 else f": NO, {len(every)} digests")
        + "."
    )
    if args.memory_limit:
        limit = size_bytes(args.memory_limit)
        peak = max(max(after.rss), wall_rss)
        verdict = "within" if limit is not None and peak * 2**20 <= limit else "OVER"
        measured = "b" if args.skip_cli else "b and the CLI"
        lines.append(
            f"Peak RSS of the whole process ({measured}): {peak:,.0f} MiB, {verdict} --memory-limit "
            f"{args.memory_limit} ({(limit or 0) / 2**20:,.0f} MiB)."
        )
    lines += [
        "Load average (1, 5, 15 min) after each run: "
        + "; ".join(", ".join(f"{x:.1f}" for x in load) for load in loads)
        + ".",
        "",
        f"Findings checked equal to the generated truth on every run: {sum(expected.values()):,} rows ("
        + ", ".join(f"{k} {s}: {v:,}" for (k, s), v in sorted(expected.items()))
        + ").",
        "",
    ]
    if minimal is not None:
        lines += minimal_lines(minimal, floor, after)
    if args.profile:
        lines += profile_lines(data, args.memory_limit, args.lock)
    if args.bound:
        lines += bound_lines(data, files, args.memory_limit, args.lock)
    write(args, "\n".join(lines))


def write(args: argparse.Namespace, text: str) -> None:
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.out.is_file():
        args.out.write_text(args.out.read_text() + "\n" + text)
    else:
        args.out.write_text("# recon reconcile — benchmark\n\n" + text)


if __name__ == "__main__":
    main()
