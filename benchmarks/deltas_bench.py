# ruff: noqa: E501  (SQL and Markdown templates are kept on one line each)
"""Benchmark of ``recon deltas`` against the DuckDB scan floor of its inputs, before and after.

    .venv/bin/python benchmarks/deltas_bench.py                    # 1M users, 5 runs
    .venv/bin/python benchmarks/deltas_bench.py --users 100000 --runs 5 --before main --normalised 7feca62

Inputs are generated with DuckDB straight into the CONTRACT §3 layout (system ``idp``, a base
and a head cycle): full exports of both cycles (users whose ``raw`` is a whole SCIM User, ~8
memberships per user, one group per 100 users whose ``raw`` lists its members) and the head's
delta export as a server answering ``meta.lastModified gt "W"`` would. Changes are planted by
``i % 1000`` with known counts (checked against every run's summary, so each timed run is also
an exactness check at scale): titles changed with and without a bump and at the watermark
(lag 1 s), touched users (bump only), a phone number changed without a bump, a role added and
a costCenter changed with a bump, users only re-serialised (re-cased userName and emails,
roles reordered: not a change), deletions, creations; a member removed from 1 group in 10,
half of them bumped.

Each measurement runs in a fresh child process, timed inside it, with its peak RSS: (a) the
floor: DuckDB decoding every column this ``recon deltas`` reads from every input file (CPU per
file recorded too); (b) ``recon.deltas.deltas``; (b0) the same for the code of ``--before``
(git archive of that ref into the work folder), on the same inputs and floor; with
``--normalised REF``, (a1) and (b1): the floor of the normalised columns and the code of REF
that compared only those. Medians of ``--runs``, interleaved; every run of (b) and (b0) is
checked against the planted counts. Afterwards one run of the phases of ``deltas`` one by one
(CPU per phase). Results go to ``benchmarks/results/deltas.md`` (or ``--out``).
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
from recon.fingerprint import content_sha256_of_text  # noqa: E402
from recon.schemas import CONTENT_SHA256  # noqa: E402
from recon.store import Manifest, Store, atomic_write_json  # noqa: E402

BASE, HEAD = "20260105T020000Z", "20260106T020000Z"
WATERMARK = "2026-01-05T02:00:00Z"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# user i: kind k = i % 1000 (0..19 title changed + bumped, 20..24 touched, 25..26 title changed not
# bumped, 27 title changed at the watermark, 28 phone changed not bumped, 29 role added + bumped,
# 30..34 deleted, 35 re-serialised only (userName/email re-cased, roles reordered) not bumped,
# 36 costCenter changed + bumped); created users are i >= n (n/200 of them).
USERS = """
COPY (
    WITH u AS (
        SELECT i, i % 1000 AS k FROM range({n} + {created}) AS t(i)
        WHERE {head} OR i < {n}
    ),
    shaped AS (
        SELECT
            i, k,
            {head} AND i < {n} AND (k BETWEEN 0 AND 19 OR k BETWEEN 25 AND 27) AS retitled,
            {head} AND i < {n} AND k = 28 AS rephoned,
            {head} AND i < {n} AND k = 29 AS reroled,
            {head} AND i < {n} AND k = 35 AS recased,
            {head} AND i < {n} AND k = 36 AS recosted,
            CASE
                WHEN NOT {head} THEN TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400)
                WHEN i >= {n} OR k BETWEEN 0 AND 24 OR k IN (29, 36)
                    THEN TIMESTAMPTZ '2026-01-05 03:00:00+00' + to_seconds(i % 3600)
                WHEN k = 27 THEN TIMESTAMPTZ '2026-01-05 02:00:00+00'
                ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400)
            END AS last_modified,
            CASE WHEN {head} AND (i >= {n} OR k BETWEEN 0 AND 29 OR k = 36) THEN 2 ELSE 1 END AS version
        FROM u
        WHERE NOT ({head} AND i < {n} AND k BETWEEN 30 AND 34)
    ),
    cols AS (
        SELECT
            *,
            md5('u' || i) AS id,
            CASE WHEN recased THEN 'USER' || i || '@Example.COM' ELSE 'user' || i || '@example.com' END AS user_name,
            'Given' || (i % 1000) AS given_name,
            'Family' || (i % 5000) AS family_name,
            CASE WHEN retitled THEN 'title-changed' ELSE 'title-' || (i % 97) END AS title,
            CASE WHEN recased THEN 'U' || i || '@HOME.example.org' ELSE 'u' || i || '@home.example.org' END AS home,
            CASE WHEN rephoned THEN '+1 555 9' ELSE '+1 555 0' END || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') AS phone,
            CASE
                WHEN reroled THEN [{{'value': 'role-' || (i % 7)}}, {{'value': 'reader'}}, {{'value': 'approver'}}]
                WHEN recased THEN [{{'value': 'reader'}}, {{'value': 'role-' || (i % 7)}}]
                ELSE [{{'value': 'role-' || (i % 7)}}, {{'value': 'reader'}}]
            END AS roles,
            CASE WHEN recosted THEN 'CC-new' ELSE 'CC-' || (i % 100) END AS cost_center
        FROM shaped
    )
    SELECT
        id,
        'ext-' || i AS external_id,
        user_name,
        i % 50 <> 3 AS active,
        given_name || ' ' || family_name AS display_name,
        given_name,
        family_name,
        [{{'value': user_name, 'type': 'work', 'primary': true}},
         {{'value': home, 'type': 'home', 'primary': false}}] AS emails,
        user_name AS primary_email,
        CAST(100000 + i AS VARCHAR) AS employee_number,
        'dept-' || (i % 50) AS department,
        title,
        md5('u' || (i // 10 * 10)) AS manager_id,
        'Employee' AS user_type,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' AS created,
        last_modified,
        'W/"' || version || '"' AS version,
        CAST(to_json({{
            'schemas': ['urn:ietf:params:scim:schemas:core:2.0:User', '{ent}'],
            'id': id,
            'externalId': 'ext-' || i,
            'userName': user_name,
            'name': {{'givenName': given_name, 'familyName': family_name, 'formatted': given_name || ' ' || family_name}},
            'displayName': given_name || ' ' || family_name,
            'emails': [{{'value': user_name, 'type': 'work', 'primary': true}}, {{'value': home, 'type': 'home', 'primary': false}}],
            'phoneNumbers': [{{'value': phone, 'type': 'work'}}],
            'addresses': [{{'streetAddress': (i % 900 + 1) || ' Main St', 'locality': 'Springfield', 'postalCode': lpad(CAST(i % 99999 AS VARCHAR), 5, '0'), 'country': 'US', 'type': 'work', 'primary': true}}],
            'roles': roles,
            'active': i % 50 <> 3,
            'title': title,
            'userType': 'Employee',
            '{ent}': {{
                'employeeNumber': CAST(100000 + i AS VARCHAR), 'costCenter': cost_center,
                'department': 'dept-' || (i % 50), 'manager': {{'value': md5('u' || (i // 10 * 10))}}
            }},
            'meta': {{
                'resourceType': 'User', 'created': '2025-01-01T00:00:00Z',
                'lastModified': strftime(last_modified, '%Y-%m-%dT%H:%M:%SZ'),
                'version': 'W/"' || version || '"', 'location': 'https://idp.example.com/scim/v2/Users/' || id
            }}
        }}) AS VARCHAR) AS raw
    FROM cols
    WHERE {where}
    ORDER BY id
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""

# group g; members: user i is in groups (i * 7 + j * 131) % G for j < 8. In the head, the j = 0
# membership of users with i % 997 = 5 is removed (about one group in ten loses a member);
# even-numbered ones among those groups are bumped. Created users join no group. A group's raw
# lists its members, as extraction keeps them.
MEMBERSHIPS = """
CREATE OR REPLACE TABLE m AS
SELECT (i * 7 + j * 131) % {groups} AS g, md5('g' || ((i * 7 + j * 131) % {groups})) AS group_id,
    md5('u' || i) AS member_id, 'User' AS member_type
FROM range({n}) AS t(i), range(8) AS s(j)
WHERE {keep}
"""
GROUPS = """
COPY (
    WITH picked AS (
        SELECT g, md5('g' || g) AS id,
            CASE WHEN {head} AND g IN (SELECT changed_group FROM changed) AND g % 2 = 0
                THEN TIMESTAMPTZ '2026-01-05 04:00:00+00' ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' END AS last_modified
        FROM range({groups}) AS t(g)
    ),
    listed AS (
        SELECT g, list({{'value': member_id, 'type': 'User'}} ORDER BY member_id) AS members
        FROM m GROUP BY g
    )
    SELECT
        p.id, 'gext-' || p.g AS external_id, 'group-' || p.g AS display_name,
        TIMESTAMPTZ '2025-01-01 00:00:00+00' AS created,
        p.last_modified,
        'W/"1"' AS version,
        CAST(to_json({{
            'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group'], 'id': p.id, 'externalId': 'gext-' || p.g,
            'displayName': 'group-' || p.g, 'members': coalesce(l.members, []),
            'meta': {{'resourceType': 'Group', 'lastModified': strftime(p.last_modified, '%Y-%m-%dT%H:%M:%SZ')}}
        }}) AS VARCHAR) AS raw
    FROM picked AS p
    LEFT JOIN listed AS l ON l.g = p.g
    WHERE {where}
    ORDER BY p.id
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""


def add_prints(path: Path, resource_type: str) -> None:
    """Append ``content_sha256`` to a users or groups file DuckDB wrote, as recon's writers fill it
    (:func:`recon.fingerprint.content_sha256_of_text` of each ``raw``, in Python), written again by
    DuckDB (``POSITIONAL JOIN``: same rows, same order, DuckDB's row groups and zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if CONTENT_SHA256 in pq.read_schema(path).names:
        return
    source = pq.ParquetFile(path)
    prints = []
    for batch in source.iter_batches(columns=["raw"], batch_size=65_536):
        prints += [content_sha256_of_text(t, resource_type) for t in batch.column(0).to_pylist()]
    table = pa.table({CONTENT_SHA256: pa.array(prints, pa.binary())})
    staged = path.with_suffix(".prints.parquet")
    con = connect(temp_dir=path.parent.parent / ".tmp")
    con.register("prints", table)
    con.sql(
        f"COPY (SELECT * FROM read_parquet('{path}', hive_partitioning = false) POSITIONAL JOIN prints) "
        f"TO '{staged}' (FORMAT parquet, COMPRESSION zstd)"
    )
    con.close()
    staged.replace(path)


def add_all_prints(store: Store) -> None:
    """``content_sha256`` in every users and groups file of the three exports."""
    for cycle, kind in ((BASE, "full"), (HEAD, "full"), (HEAD, "delta")):
        ref = store.export("idp", cycle, kind)  # type: ignore[arg-type]
        add_prints(ref.table("users"), "User")
        add_prints(ref.table("groups"), "Group")


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
    after = "last_modified > TIMESTAMPTZ '2026-01-05 02:00:00+00'"
    for cycle, kind, head in ((BASE, "full", "false"), (HEAD, "full", "true"), (HEAD, "delta", "true")):
        ref = store.export("idp", cycle, kind)  # type: ignore[arg-type]
        ref.path.mkdir(parents=True)
        delta = kind == "delta"
        where = after if delta else "true"
        con.sql(USERS.format(n=n, created=created, head=head, where=where, path=ref.table("users"), ent=ENT))
        keep = f"NOT {removed}" if head == "true" else "true"
        con.execute(MEMBERSHIPS.format(n=n, groups=groups, keep=keep))
        con.sql(GROUPS.format(groups=groups, head=head, where=where, path=ref.table("groups")))
        con.sql(
            f"COPY (SELECT group_id, member_id, member_type FROM m WHERE group_id IN "
            f"(SELECT id FROM read_parquet('{ref.table('groups')}')) ORDER BY group_id, member_id) "
            f"TO '{ref.table('memberships')}' (FORMAT parquet, COMPRESSION zstd)"
        )
        manifest = Manifest(system="idp", cycle=cycle, kind=kind)  # type: ignore[arg-type]
        if delta:
            manifest.filter, manifest.watermark = f'meta.lastModified gt "{WATERMARK}"', WATERMARK
        atomic_write_json(ref.manifest_path, manifest.to_json())
    add_all_prints(store)
    per = n // 1000
    changed_groups = int(con.sql("SELECT count(*) FROM changed").fetchall()[0][0])
    bumped_groups = int(con.sql("SELECT count(*) FROM changed WHERE changed_group % 2 = 0").fetchall()[0][0])
    con.close()
    missed = 4 * per + (changed_groups - bumped_groups)  # k 25, 26, 27 (title), 28 (phone); groups
    return {
        "missed_change": missed,
        "missed_creation": 0,
        "unreported_deletion": 5 * per,
        "unchanged_returned": 5 * per,
        "stale_last_modified": missed,
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
    if kind == "BLOB":
        return 'sum(octet_length("' + column + '"))'
    return 'count("' + column + '")'


import resource
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
started, cpu0 = time.perf_counter(), cpu()
per_file = []
for path, wanted in reads:
    scan = "read_parquet(?)"
    columns = [row for row in con.sql("DESCRIBE SELECT * FROM " + scan, params=[path]).fetchall() if row[0] in wanted]
    before = cpu()
    con.sql("SELECT " + ", ".join(read(row[0], row[1]) for row in columns) + " FROM " + scan, params=[path]).fetchall()
    per_file.append(cpu() - before)
print(json.dumps({{"seconds": time.perf_counter() - started, "cpu": cpu() - cpu0, "per_file": per_file}}))
"""
DELTAS = """
import sys, time, json
sys.path.insert(0, {root!r})
from recon.deltas import deltas  # the package face: the same before and after the regroup
from recon.store import Store
import resource
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t, cpu0 = time.perf_counter(), cpu()
s = deltas(Store({data!r}), "idp", {base!r}, {head!r}, memory_limit={memory!r})
print(json.dumps({{"seconds": time.perf_counter() - t, "cpu": cpu() - cpu0, "summary": s.to_json()}}, default=str))
"""

# One run of the phases of recon.deltas.deltas, one after the other on one session (no worker
# thread, so each phase's CPU seconds are its own), timed in a fresh process: where the time goes.
# Then the anatomy: single statements over the same files that take the phases apart (not run by
# recon; each one timed alone on a fresh connection).
PHASES = """
import sys, time, json, resource
sys.path.insert(0, {root!r})
from pathlib import Path
import pyarrow as pa
try:
    from recon.deltas import run as D
except ImportError:  # the flat layout before b5b7021
    from recon import deltas as D
from recon.content import content_rules
from recon.engine import open_session
from recon.engine.duckdb import connect
from recon.store import Store
store = Store({data!r})
refs = [store.complete_export("idp", c, k) for c, k in (({base!r}, "full"), ({head!r}, "full"), ({head!r}, "delta"))]
b, h, d = (D._tables(ref) for ref in refs)
rules = content_rules(None)
phases = {{}}
def timed(label, thunk, into=phases):
    u0, s0 = resource.getrusage(resource.RUSAGE_SELF)[:2]
    out = thunk()
    u1, s1 = resource.getrusage(resource.RUSAGE_SELF)[:2]
    into[label] = [u1 - u0 + s1 - s0, s1 - s0]
    return out
with open_session(temp_dir=store.temp_dir, memory_limit={memory!r}) as s:
    def pick(kind, base, head):
        if hasattr(D, "_with_prints"):
            return "deltas_" + kind + ("_listed_by_prints" if D._with_prints(kind, base, head) else "_compare")
        return getattr(D, "_compare_sql", lambda kind, base, head: "deltas_" + kind + "_compare")(kind, base, head)
    us, gs = pick("users", refs[0], refs[1]), pick("groups", refs[0], refs[1])
    # since the returned and member-change statements were split out (after 4ebc38c)
    split = hasattr(D, "_returned")
    def returned(session, delta):
        return session.run("deltas_returned", None, {{"delta_resources": delta, "delta_resources_matching": delta}}, keep=True)
    user_inputs = ({{"base_users": b.users, "head_users": h.users, "returned": returned(s, d.users)}} if split else
                   {{"base_users": b.users, "head_users": h.users, "delta_users": d.users, "delta_users_matching": d.users}})
    def compare(session, kind, statement, inputs, base, head):
        if hasattr(D, "_compare"):  # since the prints' texts statement was split out (after 4ebc38c)
            return D._compare(session, kind, statement.endswith("prints"), inputs, base, head)
        return session.run(statement, None, inputs, keep=True)
    users = timed("users: " + us + " (base and head joined on id" + (", prints; raw read back where they differ)" if us.endswith("prints") else ", raw texts carried)"), lambda: compare(
        s, "users", us, user_inputs, b.users, h.users))
    uc = timed("users: content comparison in Python (recon/content.py)", lambda: D.content_changes(
        s, s.run("deltas_candidates", None, {{"compared": users}}), rules))
    w = s.worker()
    def group_inputs():
        if not split:
            return {{"base_groups": b.groups, "head_groups": h.groups, "base_memberships": b.memberships,
                     "head_memberships": h.memberships, "delta_groups": d.groups, "delta_groups_matching": d.groups}}
        changes = w.run("deltas_group_member_changes", None,
                        {{"base_memberships": b.memberships, "head_memberships": h.memberships}}, keep=True)
        return {{"base_groups": b.groups, "head_groups": h.groups, "member_changes": changes,
                 "returned": returned(w, d.groups)}}
    groups = timed("groups: " + gs + " (member fingerprints, " + ("prints joined on id; raw read back where they differ)" if gs.endswith("prints") else "raw texts joined on id)"), lambda: compare(
        w, "groups", gs, group_inputs(), b.groups, h.groups))
    gc, gp = timed("groups: content comparison in Python (recon/content.py)", lambda: D.content_changes(
        w, w.run("deltas_candidates", None, {{"compared": groups}}), rules))
    gr = timed("groups: compare rows handed back without raw texts", lambda: D._without_raw(w, groups))
    w.close()
    def tail():
        compared = s.union_all(users, s.bind(gr))
        classified = s.run("deltas_classify", None, {{"compared": compared, "content_changes": pa.concat_tables([uc[0], gc])}}, keep=True)
        findings = s.run("deltas_findings", {{"watermark": None, "inclusive": False}}, {{"classified": classified}})
        s.write_parquet(findings, Path({data!r}) / ".tmp" / "phases_findings.parquet", D.DELTA_FINDINGS)
        s.rows(s.run("deltas_counts", None, {{"classified": classified}}))
    timed("classify, findings written, counts", tail)
f = lambda ref, table: "read_parquet('" + str(ref.table(table)) + "')"
bu, hu, bg, hg, bm, hm = f(refs[0], "users"), f(refs[1], "users"), f(refs[0], "groups"), f(refs[1], "groups"), f(refs[0], "memberships"), f(refs[1], "memberships")
prints = "(SELECT group_id, count(*) AS n, bit_xor(hash(member_id, member_type)) AS x, sum(CAST(hash(member_id, member_type) AS HUGEINT)) AS s FROM {{}} GROUP BY group_id)"
anatomy_sql = {{
    "users: raw texts of both files decoded, nothing else (their floor share)": "SELECT sum(strlen(raw)) FROM " + bu + " UNION ALL SELECT sum(strlen(raw)) FROM " + hu,
    "users: ids, names and lastModified joined on id, no raw text": "SELECT count(*) FROM (SELECT id, user_name, last_modified FROM " + bu + ") AS b FULL JOIN (SELECT id, user_name, last_modified FROM " + hu + ") AS h ON h.id = b.id WHERE b.last_modified IS DISTINCT FROM h.last_modified",
    "users: ids, names, lastModified and content prints joined on id, no raw text": "SELECT count(*) FROM (SELECT id, user_name, last_modified, content_sha256 FROM " + bu + ") AS b FULL JOIN (SELECT id, user_name, last_modified, content_sha256 FROM " + hu + ") AS h ON h.id = b.id WHERE b.content_sha256 IS DISTINCT FROM h.content_sha256",
    "users: raw texts read back for the ids whose prints differ, both files": "WITH d AS (SELECT b.id FROM (SELECT id, content_sha256 FROM " + bu + ") AS b JOIN (SELECT id, content_sha256 FROM " + hu + ") AS h ON h.id = b.id WHERE b.content_sha256 IS DISTINCT FROM h.content_sha256) SELECT sum(strlen(raw)) FROM " + bu + " WHERE id IN (SELECT id FROM d) UNION ALL SELECT sum(strlen(raw)) FROM " + hu + " WHERE id IN (SELECT id FROM d)",
    "users: raw texts joined on id and compared, nothing else": "SELECT count(*) FROM (SELECT id, raw FROM " + bu + ") AS b FULL JOIN (SELECT id, raw FROM " + hu + ") AS h ON h.id = b.id WHERE b.raw IS DISTINCT FROM h.raw",
    "groups: raw texts of both files decoded, nothing else": "SELECT sum(strlen(raw)) FROM " + bg + " UNION ALL SELECT sum(strlen(raw)) FROM " + hg,
    "groups: raw texts joined on id and compared, nothing else": "SELECT count(*) FROM (SELECT id, raw FROM " + bg + ") AS b FULL JOIN (SELECT id, raw FROM " + hg + ") AS h ON h.id = b.id WHERE b.raw IS DISTINCT FROM h.raw",
    "groups: memberships of both files decoded, nothing else": "SELECT sum(strlen(group_id) + strlen(member_id) + strlen(member_type)) FROM " + bm + " UNION ALL SELECT sum(strlen(group_id) + strlen(member_id) + strlen(member_type)) FROM " + hm,
    "groups: member fingerprints of both sides joined": "SELECT count(*) FROM " + prints.format(bm) + " AS b FULL JOIN " + prints.format(hm) + " AS h ON h.group_id = b.group_id WHERE b.n IS DISTINCT FROM h.n OR b.x IS DISTINCT FROM h.x OR b.s IS DISTINCT FROM h.s",
}}
anatomy = {{}}
for label, sql in anatomy_sql.items():
    con = connect(memory_limit={memory!r})
    timed(label, lambda: con.sql(sql).fetchall(), anatomy)
    con.close()
print(json.dumps({{"seconds": 0.0, "cpu": sum(v[0] for v in phases.values()), "phases": phases, "anatomy": anatomy}}))
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


OLD_USER_COLUMNS = [
    "id",
    "external_id",
    "user_name",
    "active",
    "display_name",
    "given_name",
    "family_name",
    "emails",
    "primary_email",
    "employee_number",
    "department",
    "title",
    "manager_id",
    "user_type",
    "last_modified",
]


def reads_of(store: Store, new: bool) -> list[tuple[str, list[str]]]:
    """(file, columns) that ``recon deltas`` reads: the whole-resource version (``new``) or main's."""
    users_full = ["id", "user_name", "last_modified", "raw", CONTENT_SHA256] if new else OLD_USER_COLUMNS
    groups_full = (
        ["id", "display_name", "last_modified", "raw", CONTENT_SHA256]
        if new
        else ["id", "external_id", "display_name", "last_modified"]
    )
    members = ["group_id", "member_id", "member_type"]
    reads: list[tuple[str, list[str]]] = []
    for cycle, kind in ((BASE, "full"), (HEAD, "full"), (HEAD, "delta")):
        ref = store.export("idp", cycle, kind)  # type: ignore[arg-type]
        delta = kind == "delta"
        reads += [
            (str(ref.table("users")), ["id", "last_modified"] if delta else users_full),
            (str(ref.table("groups")), ["id", "last_modified"] if delta else groups_full),
            (str(ref.table("memberships")), members),
        ]
    return reads


def before_tree(work: Path, ref: str) -> Path:
    """The code of ``ref`` exported with git archive into ``work/../code-<ref>`` (no worktree)."""
    target = work.parent / f"code-{ref}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "recon", "sql"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


class Series:
    """Wall seconds, CPU seconds and peak RSS of one kind of measurement over the runs."""

    def __init__(self, label: str, code: str) -> None:
        self.label, self.code = label, code
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.rss: list[float] = []
        self.summary: dict[str, object] = {}
        self.per_file: list[list[float]] = []

    def take(self) -> dict[str, object]:
        seconds, rss, data = measure(self.code)
        self.wall.append(seconds)
        self.cpu.append(float(data["cpu"]))  # type: ignore[arg-type]
        self.rss.append(rss)
        self.summary = data.get("summary", {})  # type: ignore[assignment]
        if "per_file" in data:
            self.per_file.append(list(data["per_file"]))  # type: ignore[call-overload]
        return data

    def row(self, floor: Series | None) -> str:
        wall, cpu = statistics.median(self.wall), statistics.median(self.cpu)
        ratio = (
            "1.00x"
            if floor is None
            else f"**{wall / statistics.median(floor.wall):.2f}x** (CPU {cpu / statistics.median(floor.cpu):.2f}x)"
        )
        runs = ", ".join(f"{x:.2f}" for x in self.wall)
        return f"| {self.label} | {wall:.2f} | {ratio} | {runs} | {cpu:.1f} | {max(self.rss):,.0f} MB |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "deltas")
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--reuse", action="store_true", help="Reuse the inputs of a previous run in --work.")
    parser.add_argument(
        "--before", default="main", help="git ref of the code before this change (default: main)"
    )
    parser.add_argument(
        "--normalised",
        default=None,
        help="git ref of the code that compared the normalised columns only (e.g. 7feca62); "
        "measured against the floor of its own inputs when given",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "deltas.md")
    args = parser.parse_args()

    expected = (
        generate(args.work, args.users)
        if not args.reuse
        else json.loads((args.work / "expected.json").read_text())
    )
    (args.work / "expected.json").write_text(json.dumps(expected))
    store = Store(args.work)
    add_all_prints(store)  # inputs of a run before the prints existed get them (once)
    import pyarrow.parquet as pq

    new_reads, old_reads = reads_of(store, True), reads_of(store, False)
    rows = {
        "users": pq.ParquetFile(new_reads[0][0]).metadata.num_rows,
        "memberships": pq.ParquetFile(new_reads[2][0]).metadata.num_rows,
        "delta_users": pq.ParquetFile(new_reads[6][0]).metadata.num_rows,
        "users_mb": Path(new_reads[0][0]).stat().st_size / 1e6,
        "groups_mb": Path(new_reads[1][0]).stat().st_size / 1e6,
    }

    def short(ref: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    here = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "recon", "sql"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here += " + uncommitted changes" if dirty else ""
    common = {"data": str(args.work), "base": BASE, "head": HEAD, "memory": args.memory_limit}
    floor_new = Series(
        "(a) floor: DuckDB decoding every column `recon deltas` reads (raw included) from the 9 files",
        FLOOR.format(root=str(ROOT), reads=new_reads, memory=args.memory_limit),
    )
    after = Series(
        f"(b) `recon.deltas.deltas`, this branch ({here})", DELTAS.format(root=str(ROOT), **common)
    )
    before_ref = short(args.before)
    before = Series(
        f"(b0) `recon.deltas.deltas` before this change ({before_ref}), same inputs",
        DELTAS.format(root=str(before_tree(args.work, args.before)), **common),
    )
    series = [floor_new, after, before]
    floor_old = old = None
    if args.normalised:
        floor_old = Series(
            "(a1) floor of the normalised columns the older code read (no raw)",
            FLOOR.format(root=str(ROOT), reads=old_reads, memory=args.memory_limit),
        )
        old = Series(
            f"(b1) `recon.deltas.deltas` comparing the normalised columns only ({short(args.normalised)})",
            DELTAS.format(root=str(before_tree(args.work, args.normalised)), **common),
        )
        series += [floor_old, old]
    per = args.users // 1000
    want = {
        "phoneNumbers": {"changed": per, "returned": 0, "missed": per, "stale_last_modified": per},
        "roles": {"changed": per, "returned": per, "missed": 0, "stale_last_modified": 0},
        f"{ENT}:costCenter": {"changed": per, "returned": per, "missed": 0, "stale_last_modified": 0},
    }
    outputs: dict[str, list[str]] = {"after": [], "before": []}
    for number in range(args.runs):
        for one in series if number % 2 == 0 else series[::-1]:
            one.take()
        for label, exact in (("after", after), ("before", before)):
            summary = exact.summary
            if summary["counts"] != expected:  # type: ignore[index]
                raise SystemExit(f"{label} inexact: expected {expected}, got {summary['counts']}")  # type: ignore[index]
            if summary["watermark_lag_seconds"] != 1:  # type: ignore[index]
                raise SystemExit(f"{label} lag: expected 1 s, got {summary['watermark_lag_seconds']}")  # type: ignore[index]
            paths = summary["changed_paths"]["User"]  # type: ignore[index]
            if any(paths.get(k) != v for k, v in want.items()) or "userName" in paths:
                raise SystemExit(f"{label} per-path counts: expected {want} and no userName, got {paths}")
            kept = {k: v for k, v in summary.items() if k not in ("findings_path", "tool_version")}  # type: ignore[union-attr]
            outputs[label].append(json.dumps(kept, sort_keys=True, default=str))
        print(
            f"run {number + 1}: "
            + ", ".join(f"{s.label.split()[0]} {s.wall[-1]:.2f} s (cpu {s.cpu[-1]:.1f})" for s in series),
            flush=True,
        )
    same_summary = len(set(outputs["after"] + outputs["before"])) == 1
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    phased = measure(PHASES.format(root=str(ROOT), **common))[2]
    phases, anatomy = phased["phases"], phased["anatomy"]
    floor_cpu = [statistics.median(x) for x in zip(*floor_new.per_file, strict=True)]
    load_after_phases = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "pyarrow", "polars", "orjson"))
    ratio_wall = statistics.median(after.wall) / statistics.median(floor_new.wall)
    ratio_cpu = statistics.median(after.cpu) / statistics.median(floor_new.cpu)
    files = ["base users", "base groups", "base memberships", "head users", "head groups",
             "head memberships", "delta users", "delta groups", "delta memberships"]  # fmt: skip
    floor_rows = "\n".join(f"| {name} | {cpu:.2f} |" for name, cpu in zip(files, floor_cpu, strict=True))
    phase_rows = "\n".join(f"| {name} | {cpu:.2f} | {sys_:.2f} |" for name, (cpu, sys_) in phases.items())  # type: ignore[union-attr]
    anatomy_rows = "\n".join(f"| {name} | {cpu:.2f} | {sys_:.2f} |" for name, (cpu, sys_) in anatomy.items())  # type: ignore[union-attr]
    normalised = "" if old is None or floor_old is None else f"{floor_old.row(None)}\n{old.row(floor_old)}\n"
    verdict = (
        f"**Goal met: {ratio_wall:.2f}x** (CPU {ratio_cpu:.2f}x)."
        if ratio_wall <= 2
        else f"**Goal not met: {ratio_wall:.2f}x** (CPU {ratio_cpu:.2f}x); the table of phases below bounds it."
    )
    text = f"""# recon deltas - {args.users:,} users, whole-resource content (issue 15)

Machine: {platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Python {platform.python_version()}.
Versions: recon {__version__}, {versions}. {args.runs} runs; in each, the measurements back to
back in alternating order ({", ".join(s.label.split()[0] for s in series)}, then the reverse), each in a
fresh process, timed inside it (medians). The machine is shared: load average (1, 5, 15 min) at the end
{load} on {os.cpu_count()} cores, so wall times are noisy; CPU seconds are steadier. DuckDB memory limit:
{args.memory_limit or "default (80% of RAM)"}.

Inputs (generated with DuckDB): base and head full exports of {rows["users"]:,} users (each `raw` a
whole SCIM User: name, emails, phoneNumbers, addresses, roles, the enterprise extension, meta;
users.parquet {rows["users_mb"]:.0f} MB), {rows["memberships"]:,} memberships and {max(args.users // 100, 10):,} groups
(each group's `raw` lists its members, as extraction keeps them; groups.parquet {rows["groups_mb"]:.0f} MB);
the head's delta export ({rows["delta_users"]:,} users) as answered to `meta.lastModified gt "{WATERMARK}"`.

| step | median wall s | ratio to its floor | runs (wall s) | median CPU s | peak RSS (max) |
|---|---|---|---|---|---|
{floor_new.row(None)}
{after.row(floor_new)}
{before.row(floor_new)}
{normalised}
(b)/(a) is the acceptance figure (goal ≤ 2x): {verdict} (b0) is the code before this change on
the same inputs against the same floor; (b)/(b0): {statistics.median(after.wall) / statistics.median(before.wall):.2f}x
of its wall time, {statistics.median(after.cpu) / statistics.median(before.cpu):.2f}x of its CPU time.

Every run of (b) and (b0) counted exactly what was planted: {json.dumps(expected)}; watermark lag 1 s,
and per attribute path phoneNumbers 1 per 1000 users missed and stale (changed without a lastModified
bump), roles and enterprise costCenter changed and returned, no userName change (re-cased only).
summary.json of every run of (b) and (b0) identical (paths aside): {same_summary}.

## Where the CPU goes (one run of each, CPU seconds)

The floor (a), per file (median over the runs):

| file (columns `recon deltas` reads) | CPU s |
|---|---|
{floor_rows}

`recon.deltas.deltas`, phase by phase, run one after the other in one process after the timed runs
(no worker thread, so each phase's CPU is its own; load average then {load_after_phases}). System CPU
is the kernel's share (mostly page faults: memory a hash table touches for the first time):

| phase | CPU s | of which system |
|---|---|---|
{phase_rows}

The anatomy of those phases: single statements over the same files, each timed alone on a fresh
DuckDB connection right after (not run by recon; they take the phases apart):

| statement | CPU s | of which system |
|---|---|---|
{anatomy_rows}

How: every users and groups file carries `content_sha256` (SHA-256 of the resource without `meta`,
a group's also without `members`, as sorted compact JSON; recon/fingerprint.py). SQL joins base and
head on id and the 32-byte prints only, and reads `raw` back just for the resources whose prints
differ (or are null); recon/content.py parses both versions of those (orjson) and compares them as
RFC 7643 says, path by path. Equal prints are equal content, so an unchanged resource costs one
32-byte comparison and a touched-only one (lastModified bumped) is no candidate. Group member sets
are compared by per-group fingerprints (count, bit_xor and sum of 64-bit hashes); the member
changes are looked up with IN. The groups' SQL and their content comparison run on a worker session
while the main one compares the users' contents. Exports without the column are compared by the
statements before this change (the raw texts joined on id).
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
