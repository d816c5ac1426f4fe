"""Scale check for ``recon bulk plan`` and ``recon bulk analyze``.

    .venv/bin/python benchmarks/bulk_bench.py [--users 1000000] [--runs 5] [--before CHECKOUT]

Builds a data folder with an IdP (``idp``) of ``--users`` users (one group per 100 users, each
user in 5 groups) and a drifted target (``app``: 8% of users missing, 2% orphans, 3% with a
different department, 1% not deactivated, 2% of memberships missing, 1% excess), reconciles
them with ``recon.reconcile`` (real findings), then measures, each in a fresh process, with
peak RSS:

- ``plan``: findings -> chunked BulkRequests (maxOperations 1000, 1 MiB);
- ``analyze``: ``analyze_files`` on each chunk file and a BulkResponse written for it (every
  operation ok, POSTs with a location), checked against the target export;
- the floor: a DuckDB scan of the columns plan reads (findings, source users with raw, target
  users/groups, source memberships); ``floor+json`` adds DuckDB's read_json of the request and
  response files analyze reads.

``--before`` names a second checkout (e.g. ``git archive <commit> | tar -x -C DIR``): its
``recon`` runs the same steps on the same data, so the figure before a change is measured in
the same run. The steps take turns within each run (the order rotates), so a change of machine
load hits every step alike; the 1-minute load average is sampled before each measurement.
Results go to benchmarks/results/bulk.md (``--output`` elsewhere). ``--reuse`` measures the
exports and findings already in ``--data`` (built by an earlier run at the same ``--users``)
instead of building them, and leaves them there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
STEPS = ("floor", "floor+json", "floor+write", "floor+read", "plan-least", "analyze-least", "plan", "analyze")
RESPONSES = "responses"  # the folder (in the data folder) of the BulkResponse of each chunk


# -- the data ------------------------------------------------------------------------------
def _users(index: Any, uid: Any, *, external: Any, active: Any, department: Any) -> list[Any]:
    """The columns of users.parquet for the rows numbered ``index`` (polars expressions)."""
    import polars as pl

    name = pl.concat_str(pl.lit("user"), index.cast(pl.String).str.zfill(7), pl.lit("@example.com"))
    given = pl.concat_str(pl.lit("Given"), index.cast(pl.String))
    family = pl.concat_str(pl.lit("Family"), index.cast(pl.String))
    title = pl.concat_str(pl.lit("Title "), (index % 13).cast(pl.String))
    raw = pl.concat_str(  # what orjson.dumps writes for the resource (compact, in this key order)
        pl.lit(f'{{"schemas":["{CORE}","{ENTERPRISE}"],"id":"'),
        uid,
        pl.lit('","userName":"'),
        name,
        pl.lit('","active":'),
        pl.when(active).then(pl.lit("true")).otherwise(pl.lit("false")),
        pl.lit(',"name":{"givenName":"'),
        given,
        pl.lit('","familyName":"'),
        family,
        pl.lit('"},"emails":[{"value":"'),
        name,
        pl.lit('","type":"work","primary":true}],"title":"'),
        title,
        pl.lit(f'","{ENTERPRISE}":{{"department":"'),
        department,
        pl.lit('"}'),
        pl.when(external.is_not_null())
        .then(pl.concat_str(pl.lit(',"externalId":"'), external, pl.lit('"')))
        .otherwise(pl.lit("")),
        pl.lit("}"),
    )
    null = pl.lit(None, dtype=pl.String)
    never = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    return [
        uid.alias("id"),
        external.alias("external_id"),
        name.alias("user_name"),
        active.alias("active"),
        null.alias("display_name"),
        given.alias("given_name"),
        family.alias("family_name"),
        pl.concat_list(pl.struct(value=name, type=pl.lit("work"), primary=pl.lit(True))).alias("emails"),
        name.alias("primary_email"),
        null.alias("employee_number"),
        department.alias("department"),
        title.alias("title"),
        null.alias("manager_id"),
        null.alias("user_type"),
        never.alias("created"),
        never.alias("last_modified"),
        pl.lit('W/"1"').alias("version"),
        raw.alias("raw"),
        pl.lit(None, dtype=pl.Binary).alias("content_sha256"),  # nullable: absent in older exports
    ]


def _write(data: Path, system: str, tables: dict[str, Any]) -> None:
    import pyarrow.parquet as pq

    from recon.schemas import GROUPS, MEMBERSHIPS, USERS
    from recon.store import Manifest, Store, atomic_write_json

    ref = Store(data).export(system, "c1")
    ref.path.mkdir(parents=True, exist_ok=True)
    for name, schema in (("users", USERS), ("groups", GROUPS), ("memberships", MEMBERSHIPS)):
        pq.write_table(tables[name].to_arrow().cast(schema), ref.table(name))
    atomic_write_json(ref.manifest_path, Manifest(system=system, cycle="c1", kind="full").to_json())


def build(data: Path, n: int) -> None:
    """Both exports, columnar (the rows and order the earlier per-row builder wrote)."""
    import polars as pl

    n_groups = max(1, n // 100)
    i = pl.col("i")
    rows = pl.DataFrame({"i": pl.int_range(0, n, eager=True)})
    sid = pl.concat_str(pl.lit("s"), i.cast(pl.String).str.zfill(7))
    dept = pl.concat_str(pl.lit("Dept "), (i % 7).cast(pl.String))
    source_users = rows.select(
        _users(i, sid, external=pl.lit(None, dtype=pl.String), active=i % 100 != 1, department=dept)
    )
    present = ~(i % 100).is_between(10, 17)  # 8% missing in the target
    drift = (i % 100).is_between(20, 22)
    target_users = pl.concat(
        [
            rows.filter(present).select(
                _users(
                    i,
                    pl.concat_str(pl.lit("t"), i.cast(pl.String).str.zfill(7)),
                    external=sid,
                    active=pl.lit(True),
                    department=pl.when(drift).then(pl.lit("Elsewhere")).otherwise(dept),
                )
            ),
            pl.DataFrame({"i": pl.int_range(0, n // 50, eager=True)}).select(  # 2% orphans
                _users(
                    i + n,
                    pl.concat_str(pl.lit("o"), i.cast(pl.String).str.zfill(7)),
                    external=pl.lit(None, dtype=pl.String),
                    active=pl.lit(True),
                    department=pl.lit("X"),
                )
            ),
        ]
    )
    g = pl.DataFrame({"g": pl.int_range(0, n_groups, eager=True)})
    gid = pl.col("g").cast(pl.String).str.zfill(5)
    nothing = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    groups_src = g.select(
        pl.concat_str(pl.lit("sg"), gid).alias("id"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        pl.concat_str(pl.lit("group-"), gid).alias("display_name"),
        nothing.alias("created"),
        nothing.alias("last_modified"),
        pl.lit(None, dtype=pl.String).alias("version"),
        pl.concat_str(
            pl.lit('{"id": "sg'), gid, pl.lit('", "displayName": "group-'), gid, pl.lit('"}')
        ).alias("raw"),
        pl.lit(None, dtype=pl.Binary).alias("content_sha256"),
    )
    groups_tgt = g.select(
        pl.concat_str(pl.lit("tg"), gid).alias("id"),
        pl.concat_str(pl.lit("sg"), gid).alias("external_id"),
        pl.concat_str(pl.lit("group-"), gid).alias("display_name"),
        nothing.alias("created"),
        nothing.alias("last_modified"),
        pl.lit('W/"1"').alias("version"),
        pl.lit("{}").alias("raw"),
        pl.lit(None, dtype=pl.Binary).alias("content_sha256"),
    )
    pairs = pl.DataFrame({"x": pl.int_range(0, n * 5, eager=True)}).select(
        (pl.col("x") // 5).alias("i"), (pl.col("x") % 5).alias("k")
    )
    group_of = (i * 7 + pl.col("k") * 13) % n_groups
    src_m = pairs.select(
        pl.concat_str(pl.lit("sg"), group_of.cast(pl.String).str.zfill(5)).alias("group_id"),
        sid.alias("member_id"),
        pl.lit("User").alias("member_type"),
    )
    kept = pairs.filter(present & ((i * 5 + pl.col("k")) % 50 != 0)).with_columns(g=group_of)  # 2% missing
    excess = rows.filter(present & (i % 100 == 50)).select(i, pl.lit(5).alias("k"), g=(i + 1) % n_groups)
    tgt_m = (
        pl.concat([kept, excess.cast(kept.schema)])
        .sort("i", "k")
        .select(
            pl.concat_str(pl.lit("tg"), pl.col("g").cast(pl.String).str.zfill(5)).alias("group_id"),
            pl.concat_str(pl.lit("t"), i.cast(pl.String).str.zfill(7)).alias("member_id"),
            pl.lit("User").alias("member_type"),
        )
    )
    _write(data, "idp", {"users": source_users, "groups": groups_src, "memberships": src_m})
    _write(data, "app", {"users": target_users, "groups": groups_tgt, "memberships": tgt_m})


# -- the measured steps --------------------------------------------------------------------
def step(kind: str, data: Path, out: Path) -> None:
    """One measured step (run in a child process, with the ``recon`` under test on sys.path)."""
    from recon.store import Store

    store = Store(data)
    if kind == "reconcile":
        from recon.reconcile import reconcile

        reconcile(store, "idp", "app", "c1")
    elif kind == "plan":
        from recon.bulk.plan import plan

        summary = plan(store, "idp", "app", "c1", out=out)
        (out.parent / f"{out.name}.summary.json").write_text(json.dumps(summary.to_json()))
    elif (
        kind == "analyze"
    ):  # what `recon bulk analyze --request chunk-N.json --response response-N.json …` runs
        from recon.bulk.analyze import analyze_files

        summary, _ = analyze_files(
            store, "app", pairs=_pairs(data, out), cycle="c1", run_id=f"bench-{out.name}"
        )
        (out.parent / f"{out.name}.outcomes.json").write_text(json.dumps(summary.outcomes))
    elif kind == "plan-least":
        _plan_least(data, out)
    elif kind == "analyze-least":
        _analyze_least(data, _pairs(data, out), out.parent / f"{out.name}.least.parquet")
    elif kind in ("floor", "floor+json", "floor+write", "floor+read"):
        _floor(data)
        if kind == "floor+json":  # the floor of analyze: the export and its request/response files
            _json_floor(_pairs(data, out))
        elif kind == "floor+write":  # what writing the plan's bytes costs: each file fsynced, renamed
            _write_copy(out, out.parent / f"{out.name}.copy")
        elif kind == "floor+read":  # what parsing the plan's JSON back costs (the collector off)
            import gc

            import orjson

            gc.disable()
            for path in sorted(out.iterdir()):
                orjson.loads(path.read_bytes())


def _pairs(data: Path, plan: Path) -> list[tuple[Path, Path]]:
    """(request, response) files of a plan: each chunk file and the response written for it."""
    chunks = sorted(plan.glob("chunk-*.json"))
    return [(chunk, data / RESPONSES / chunk.name.replace("chunk-", "response-")) for chunk in chunks]


def write_responses(data: Path, plan: Path) -> None:
    """A BulkResponse per chunk of ``plan``: every operation ok (201 + location for a POST, else 200)."""
    import orjson

    folder = data / RESPONSES
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for request, response in _pairs(data, plan):
        results = []
        for op in orjson.loads(request.read_bytes())["Operations"]:
            result = {"method": op["method"], "bulkId": op["bulkId"]}
            if op["method"] == "POST":
                endpoint = "Users" if op["path"].startswith("/Users") else "Groups"
                result["location"] = f"https://x/v2/{endpoint}/new-{op['bulkId']}"
            result["status"] = "201" if op["method"] == "POST" else "200"
            results.append(result)
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": results}
        response.write_bytes(orjson.dumps(body))


def _json_floor(pairs: list[tuple[Path, Path]]) -> None:
    """DuckDB's read_json of the request and response files: every operation parsed, its data kept
    as JSON text (one schema cannot type both a user's body and a PatchOp)."""
    import duckdb

    con = duckdb.connect()
    requests = [str(request) for request, _ in pairs]
    responses = [str(response) for _, response in pairs]
    operation = "STRUCT(method VARCHAR, bulkId VARCHAR, version VARCHAR, path VARCHAR, data JSON)[]"
    con.execute(
        "SELECT count(*), sum(length(o.path)), sum(length(o.data)) FROM (SELECT unnest(Operations) AS o "
        "FROM read_json(?, columns={'schemas': 'VARCHAR[]', 'Operations': '" + operation + "'}))",
        [requests],
    ).fetchall()
    con.execute(
        "SELECT count(*), sum(length(o.status)), sum(length(o.location)) FROM "
        "(SELECT unnest(Operations) AS o FROM read_json(?))",
        [responses],
    ).fetchall()


def _plan_least(data: Path, plan: Path) -> None:
    """Less than any plan must do, in DuckDB: the findings joined with the source resources and
    target versions a remediation needs, the source memberships of the created users and groups
    (both fetched as Arrow), and the plan's bytes written (sha256, fsync). Left out: resolving
    members to target ids, building and ordering operations, chunking."""
    import duckdb

    con = duckdb.connect()
    idp, app = data / "exports/system=idp/*/*", data / "exports/system=app/*/*"
    findings = f"read_parquet('{data}/findings/*/*/*/findings.parquet')"
    con.sql(
        f"""SELECT f.kind, f.source_id, f.target_id, f.group_id, f.target_group_id, f.attribute,
                   su.raw AS source_raw, coalesce(tg.version, tu.version) AS target_version, tu.active
            FROM {findings} AS f
            LEFT JOIN read_parquet('{idp}/users.parquet') AS su
                ON su.id = f.source_id AND f.kind IN ('missing_in_target', 'attribute_mismatch')
            LEFT JOIN read_parquet('{app}/users.parquet') AS tu ON tu.id = f.target_id
            LEFT JOIN read_parquet('{app}/groups.parquet') AS tg ON tg.id = f.target_group_id"""
    ).fetch_arrow_table()
    con.sql(
        f"""SELECT m.group_id, m.member_id, m.member_type
            FROM read_parquet('{idp}/memberships.parquet') AS m
            WHERE m.member_id IN (SELECT source_id FROM {findings} WHERE kind = 'missing_in_target')
                OR m.group_id IN (SELECT group_id FROM {findings} WHERE kind = 'group_missing_in_target')"""
    ).fetch_arrow_table()
    _write_copy(plan, plan.parent / f"{plan.name}.least")


def _analyze_least(data: Path, pairs: list[tuple[Path, Path]], out: Path) -> None:
    """Less than any analysis must do, set-wise in DuckDB: read the request and response files,
    pair each result with its operation by bulkId, find the resource each acted on (a POST's
    location, else its path, a bulkId: reference resolved to the id created), check it exists
    in the target export, each member a group PATCH adds is in the group and each value a user
    PATCH sets is the value at its path in the user's raw JSON (text equality), count what each
    creation sends, and write one row per operation to Parquet. Left out: recon.content's
    comparison (caseExact, multi-valued sets, dateTimes), lookups, outcomes."""
    import duckdb

    con = duckdb.connect()
    app = data / "exports/system=app/*/*"
    operation = "STRUCT(method VARCHAR, bulkId VARCHAR, version VARCHAR, path VARCHAR, data JSON)[]"
    result = "STRUCT(method VARCHAR, bulkId VARCHAR, version VARCHAR, location VARCHAR, status VARCHAR)[]"
    con.execute(
        "CREATE TEMP TABLE ops AS SELECT filename AS file, unnest(Operations) AS o FROM read_json(?, "
        "columns={'schemas': 'VARCHAR[]', 'Operations': '" + operation + "'}, filename=true)",
        [[str(r) for r, _ in pairs]],
    )
    con.execute(
        "CREATE TEMP TABLE results AS SELECT filename AS file, unnest(Operations) AS r FROM read_json(?, "
        "columns={'schemas': 'VARCHAR[]', 'Operations': '" + result + "'}, filename=true)",
        [[str(s) for _, s in pairs]],
    )
    con.execute(
        rf"""COPY (
        WITH paired AS (
            SELECT o.o.method AS method, o.o.bulkId AS bulk_id, o.o.path AS path, o.o.data AS data,
                   r.r.status AS status, r.r.location AS location
            FROM ops AS o
            LEFT JOIN results AS r
                ON regexp_extract(r.file, '([0-9]+)\.json$', 1) = regexp_extract(o.file, '([0-9]+)\.json$', 1)
                AND r.r.bulkId = o.o.bulkId
        ),
        created AS (
            SELECT bulk_id, regexp_extract(location, '[^/]+$') AS id FROM paired WHERE method = 'POST'
        ),
        acted AS (
            SELECT p.*, CASE WHEN p.method = 'POST' THEN regexp_extract(p.location, '[^/]+$')
                ELSE coalesce(c.id, regexp_extract(p.path, '[^/]+$')) END AS resource_id,
                CASE WHEN p.path LIKE '/Users%' THEN 'User' ELSE 'Group' END AS resource_type
            FROM paired AS p
            LEFT JOIN created AS c ON 'bulkId:' || c.bulk_id = regexp_extract(p.path, '[^/]+$')
        ),
        members AS (
            SELECT m.bulk_id, m.resource_id AS group_id, coalesce(c.id, m.value) AS member_id
            FROM (SELECT bulk_id, resource_id,
                         unnest(json_extract_string(data, '$.Operations[*].value[*].value')) AS value
                  FROM acted WHERE resource_type = 'Group' AND method = 'PATCH') AS m
            LEFT JOIN created AS c ON 'bulkId:' || c.bulk_id = m.value
        ),
        member_met AS (
            SELECT k.bulk_id, count(*) AS checks, count(t.group_id) AS met
            FROM members AS k
            LEFT JOIN read_parquet('{app}/memberships.parquet') AS t
                ON t.group_id = k.group_id AND t.member_id = k.member_id
            GROUP BY k.bulk_id
        ),
        -- each value a user PATCH sets, compared with the value at its path in the user's raw
        -- JSON in the export (the least of a content comparison: JSON text equality)
        patched AS (
            SELECT bulk_id, resource_id, op ->> 'path' AS attribute, op -> 'value' AS value
            FROM (SELECT bulk_id, resource_id, unnest(json_extract(data, '$.Operations[*]')) AS op
                  FROM acted WHERE method = 'PATCH' AND resource_type = 'User')
        ),
        value_met AS (
            SELECT p.bulk_id, count(*) AS checks, count(*) FILTER (
                WHERE json_extract(u.raw, CASE WHEN starts_with(p.attribute, 'urn:')
                    THEN '$."' || regexp_extract(p.attribute, '^(.*):[^:]+$', 1) || '".'
                        || regexp_extract(p.attribute, '[^:]+$')
                    ELSE '$.' || p.attribute END)::VARCHAR = p.value::VARCHAR
            ) AS met
            FROM patched AS p
            LEFT JOIN read_parquet('{app}/users.parquet') AS u ON u.id = p.resource_id
            GROUP BY p.bulk_id
        ),
        present AS (
            SELECT 'User' AS resource_type, id FROM read_parquet('{app}/users.parquet')
            UNION ALL SELECT 'Group', id FROM read_parquet('{app}/groups.parquet')
        )
        SELECT a.bulk_id, a.method, a.path, a.status, a.resource_id, t.id IS NOT NULL AS exists,
               coalesce(mm.checks, 0) AS member_checks, coalesce(mm.met, 0) AS members_met,
               coalesce(vm.checks, 0) AS value_checks, coalesce(vm.met, 0) AS values_met,
               -- what a creation would check: the attributes it sends
               CASE WHEN a.method = 'POST' THEN len(json_keys(a.data)) END AS sent
        FROM acted AS a
        LEFT JOIN present AS t ON t.resource_type = a.resource_type AND t.id = a.resource_id
        LEFT JOIN member_met AS mm ON mm.bulk_id = a.bulk_id
        LEFT JOIN value_met AS vm ON vm.bulk_id = a.bulk_id
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"""
    )


def _write_copy(folder: Path, copy: Path) -> None:
    """Every file of ``folder`` written into ``copy`` as a plan writes its files, then removed."""
    import hashlib

    blobs = [(path.name, path.read_bytes()) for path in sorted(folder.iterdir())]
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    for name, blob in blobs:
        hashlib.sha256(blob).digest()
        with open(copy / f".{name}.tmp", "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(copy / f".{name}.tmp", copy / name)
    shutil.rmtree(copy)


def _floor(data: Path) -> None:
    """The scan floor: the columns plan reads, read once by DuckDB."""
    import duckdb

    con = duckdb.connect()
    idp, app = data / "exports/system=idp/*/*", data / "exports/system=app/*/*"
    for query in (
        f"SELECT count(*), sum(length(kind)) FROM read_parquet('{data}/findings/*/*/*/findings.parquet')",
        f"SELECT sum(length(raw)), count(id) FROM read_parquet('{idp}/users.parquet')",
        f"SELECT count(id), count(version), count(active) FROM read_parquet('{app}/users.parquet')",
        f"SELECT count(id), count(version) FROM read_parquet('{app}/groups.parquet')",
        f"SELECT count(group_id), count(member_id) FROM read_parquet('{idp}/memberships.parquet')",
    ):
        con.sql(query).fetchall()


# (module, function) of each phase timed by --phases; a name the measured code lacks is left out
PHASES = {
    "plan": [
        ("recon.engine.duckdb", "DuckDBSession.polars"),
        ("recon.bulk.matches", "reconcile_matches"),
        ("recon.bulk.remedies", "RemedyBuilder.add_new_memberships"),
        ("recon.bulk.remedies", "RemedyBuilder.operations"),
        ("recon.bulk.remedies", "user_create"),
        ("recon.bulk.remedies", "RemedyBuilder._user_patches"),
        ("recon.bulk.plan", "chunk_operations"),
        ("recon.bulk.plan", "_write"),
    ],
    "analyze": [
        ("recon.bulk.analyze", "read_json_file"),
        ("recon.bulk.analyze", "read_json_with_text"),
        ("recon.bulk.analyze", "parse_request"),
        ("recon.bulk.analyze", "parse_response"),
        ("recon.bulk.analyze", "records_of"),
        ("recon.bulk.analyze", "_frames"),
        ("recon.bulk.analyze", "check_segments"),
        ("recon.bulk.analyze", "_checks_frame"),
        ("recon.bulk.analyze", "_Checks.frame"),
        ("recon.engine.duckdb", "DuckDBSession.polars"),
        ("recon.bulk.analyze", "outcome_frame"),
    ],
}


def phases(kind: str, data: Path, out: Path) -> None:
    """Run one step with its phases timed (CPU seconds of the process, all threads; wall seconds)."""
    import importlib

    clock = {"cpu": time.process_time, "wall": time.perf_counter}
    spent: dict[str, dict[str, float]] = {}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = {k: c() for k, c in clock.items()}
            try:
                return function(*args, **kwargs)
            finally:
                for k, c in clock.items():
                    spent.setdefault(name, {"cpu": 0.0, "wall": 0.0})[k] += c() - start[k]

        return wrapper

    for module_name, qualified in PHASES[kind]:
        module = importlib.import_module(module_name)
        owner_name, _, attr = qualified.rpartition(".")
        owner = getattr(module, owner_name, None) if owner_name else module
        if owner is not None and hasattr(owner, attr):
            setattr(owner, attr, timed(qualified, getattr(owner, attr)))
    if kind == "plan":  # plan() binds reconcile_matches as a default argument: rebind it
        plan_module = importlib.import_module("recon.bulk.plan")
        defaults = plan_module.plan.__kwdefaults__
        defaults["matches"] = importlib.import_module("recon.bulk.matches").reconcile_matches
    start = {k: c() for k, c in clock.items()}
    step(kind, data, out)
    spent["whole step"] = {k: c() - start[k] for k, c in clock.items()}
    print(json.dumps(spent))


def measured(kind: str, data: Path, code: Path, out: Path) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of one step in a fresh process running ``code``'s recon."""
    helper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True)\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps([time.perf_counter() - t, usage.ru_maxrss, usage.ru_utime + usage.ru_stime]))\n"
    )
    args = ["--step", kind, "--data", str(data), "--code", str(code), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", helper, sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, rss_kb, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(rss_kb) / 1024, float(cpu)


def _plan_content(folder: Path) -> str:
    """A digest of a plan folder: every chunk file's bytes, and what plan.json says but its
    created_at, out_dir, format and tool version, in a form both plan.json formats share (/1
    repeated each operation's chunk, method, path, If-Match and references from the chunks)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("chunk-*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    document = json.loads((folder / "plan.json").read_text())
    for key in ("created_at", "out_dir", "format", "tool_version"):
        document.pop(key, None)
    slim = ("bulk_id", "kind", "target_id", "source_id", "lookup", "remediates")
    document["operations_planned"] = [{k: op[k] for k in slim} for op in document["operations_planned"]]
    digest.update(json.dumps(document, sort_keys=True).encode())
    return digest.hexdigest()


def _outcome_table(data: Path, plan: Path) -> Any:
    """analyze's outcome table of ``plan`` (bulk_outcomes.parquet of its last run)."""
    import polars as pl

    return pl.read_parquet(data / f"bulk/system=app/run=bench-{plan.name}/bulk_outcomes.parquet")


def scale(data: Path, users: int, runs: int, before: Path | None, *, reuse: bool = False) -> list[str]:
    """Build, reconcile, then measure each step ``runs`` times, taking turns; the rows of one scale.

    ``reuse``: ``data`` already holds the exports and findings (built by an earlier run with the
    same ``users``): they are neither built nor removed."""
    findings = list(data.glob("findings/*/*/*/findings.parquet")) if reuse else []
    if findings:
        built = rec_s = rec_rss = float("nan")
    else:
        shutil.rmtree(data, ignore_errors=True)
        started = time.perf_counter()
        build(data, users)
        built = time.perf_counter() - started
        rec_s, rec_rss, _ = measured("reconcile", data, ROOT, data / "plan-after")
    variants = {"after": ROOT, **({"before": before} if before else {})}
    floors = [("floor", "after"), ("floor+json", "after"), ("floor+write", "after"), ("floor+read", "after")]
    floors += [("plan-least", "after"), ("analyze-least", "after")]
    jobs = floors + [(k, v) for v in variants for k in ("plan", "analyze")]
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {job: [] for job in jobs}
    loads: list[float] = []
    for variant, code in variants.items():  # not measured: a plan for analyze to read, warm caches
        measured("plan", data, code, data / f"plan-{variant}")
    write_responses(data, data / "plan-after")  # what the target answered: every operation ok
    for number in range(runs):
        shift = number % len(jobs)
        for kind, variant in jobs[shift:] + jobs[:shift]:
            loads.append(os.getloadavg()[0])
            results[(kind, variant)].append(measured(kind, data, variants[variant], data / f"plan-{variant}"))
        if number < runs - 1:
            shutil.rmtree(data / "bulk", ignore_errors=True)  # analyze's run folders
    summary = json.loads((data / "plan-after.summary.json").read_text())
    identical = None
    if before is not None:
        identical = _plan_content(data / "plan-after") == _plan_content(data / "plan-before")
        same_outcomes = _outcome_table(data, data / "plan-after").equals(
            _outcome_table(data, data / "plan-before")
        )
    outcomes = json.loads((data / "plan-after.outcomes.json").read_text())
    if not reuse:
        shutil.rmtree(data, ignore_errors=True)
    kinds = ", ".join(f"{k} {v:,}" for k, v in summary["operations"].items())
    lines = [
        f"### {users:,} source users",
        "",
        f"{users // 100:,} groups, {users * 5:,} source memberships ("
        + (
            "built and reconciled by an earlier run"
            if findings
            else f"built in {built:.1f} s; reconcile {rec_s:.1f} s, {rec_rss:.0f} MB"
        )
        + f"). Plan: {summary['total_operations']:,} operations ({kinds}) in "
        f"{summary['chunks']:,} chunks, {summary['bytes'] / 1e6:.1f} MB; remediates "
        f"{summary['remediated']:,} findings. analyze: "
        + ", ".join(f"{k} {v:,}" for k, v in outcomes.items() if v)
        + ".",
        "",
        f"1-minute load average before each measurement: median {statistics.median(loads):.1f}, "
        f"range {min(loads):.1f}-{max(loads):.1f} ({os.cpu_count()} cores).",
        "",
    ]
    if identical is not None:
        lines += [
            "Plans equivalent before/after (chunk files byte-identical; plan.json's limits, chunks, "
            "skipped findings and each operation's bulk_id, kind, target/source id, lookup and "
            f"remediated findings equal): {'yes' if identical else 'NO'}; analyze's outcome tables "
            "(bulk_outcomes.parquet) equal: "
            f"{'yes' if same_outcomes else 'NO'}.",
            "",
        ]
    lines += [
        "| step | code | median s | x floor | runs (s) | median CPU s | CPU x floor | CPU x floor+json "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    floor = statistics.median(s for s, _, _ in results[("floor", "after")])
    floor_cpu = statistics.median(c for _, _, c in results[("floor", "after")])
    json_cpu = statistics.median(c for _, _, c in results[("floor+json", "after")])
    for kind, variant in jobs:
        times = [s for s, _, _ in results[(kind, variant)]]
        if not times:
            continue
        med = statistics.median(times)
        cpu = statistics.median(c for _, _, c in results[(kind, variant)])
        label = "" if kind.startswith("floor") or kind.endswith("-least") else variant
        runs_text = " ".join(f"{s:.1f}" for s in times)
        peak = max(r for _, r, _ in results[(kind, variant)])
        lines.append(
            f"| {kind} | {label} | {med:.2f} | {med / floor:.1f} | {runs_text} | {cpu:.2f} | "
            f"{cpu / floor_cpu:.1f} | {cpu / json_cpu:.1f} | {peak:.0f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1000000", help="comma-separated scales")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    parser.add_argument("--note", default="", help="a line saying what --before is (e.g. main at <commit>)")
    parser.add_argument("--after-note", default="", help="what this checkout is, when it is not a git clone")
    parser.add_argument("--phases", action="store_true", help="time the phases of one run per variant")
    parser.add_argument("--reuse", action="store_true", help="use the exports and findings already in --data")
    parser.add_argument("--output", type=Path, help="write the section here instead of results/bulk.md")
    parser.add_argument("--step")
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks/work/bulk")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code))
    if args.step and args.step.startswith("phases-"):
        phases(args.step.removeprefix("phases-"), args.data, args.out)
        return
    if args.step:
        step(args.step, args.data, args.out)
        return
    if args.phases:
        where_the_time_goes(args)
        return
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "polars", "pyarrow", "orjson"))
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    lines = [
        "## recon bulk: plan and analyze at scale",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM (shared), Python "
        f"{platform.python_version()}; {versions}. Median of {args.runs} runs, each step in a fresh process",
        "(so every figure includes interpreter and import start-up), the steps taking turns within each run.",
        f"`after` is {args.after_note or 'this checkout (' + (head.stdout.strip() or 'uncommitted') + ')'}"
        + (f", `before` is {args.note or args.before}." if args.before else "."),
        "`floor` is a DuckDB scan of the columns plan reads (findings, source users with raw, target",
        "users/groups, source memberships); `floor+json` adds DuckDB's read_json of the files analyze",
        "reads besides the export: each chunk file (the BulkRequest) and its BulkResponse. Target drift:",
        "8% of users missing, 2% orphans, 3% department drift, 1% not deactivated, 2% of memberships",
        "missing, 1% excess. analyze is `analyze_files` on the (chunk, response) pairs, every operation",
        "reported ok (a POST with a location), checked against the target export.",
        "",
    ]
    for users in (int(u) for u in str(args.users).split(",")):
        lines += scale(args.data, users, args.runs, args.before, reuse=args.reuse)
    out = args.output or ROOT / "benchmarks/results/bulk.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


def where_the_time_goes(args: argparse.Namespace) -> None:
    """Build, reconcile, time the phases of plan and analyze once per variant; append to bulk.md."""
    users = int(str(args.users).split(",")[-1])
    data = args.data
    shutil.rmtree(data, ignore_errors=True)
    build(data, users)
    measured("reconcile", data, ROOT, data / "plan-after")
    variants = {"after": ROOT, **({"before": args.before} if args.before else {})}
    found: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    load = os.getloadavg()[0]
    for variant, code in variants.items():
        for kind in ("plan", "analyze"):
            command = [sys.executable, __file__, "--step", f"phases-{kind}", "--data", str(data)]
            command += ["--code", str(code), "--out", str(data / f"plan-{variant}")]
            done = subprocess.run(
                command,
                check=True,
                capture_output=True,
                text=True,
            )
            found[(kind, variant)] = json.loads(done.stdout.strip().splitlines()[-1])
            if kind == "plan":
                write_responses(data, data / f"plan-{variant}")
    shutil.rmtree(data, ignore_errors=True)
    lines = [
        f"### Where the time goes ({users:,} users, one run of each, load average {load:.1f} at the start)",
        "",
        "CPU seconds of the process (all threads: DuckDB's are included) and wall seconds per phase; a",
        "phase's time includes the phases it calls; `whole step` leaves out interpreter start-up and",
        "imports. In analyze, reading the request/response files, parsing them and pairing each",
        "operation with its result (`records_of`) come before `outcome_frame`.",
        "",
        "| step | phase | " + " | ".join(f"{v} CPU s | {v} wall s" for v in variants) + " |",
        "|---|---|" + "---|---|" * len(variants),
    ]
    for kind in ("plan", "analyze"):
        names = [q for _, q in PHASES[kind]] + ["whole step"]
        for name in names:
            cells = []
            for variant in variants:
                got = found[(kind, variant)].get(name)
                cells += [f"{got['cpu']:.2f}", f"{got['wall']:.2f}"] if got else ["-", "-"]
            lines.append(f"| {kind} | {name} | " + " | ".join(cells) + " |")
    out = ROOT / "benchmarks/results/bulk.md"
    text = out.read_text() if out.is_file() else ""
    text = text.split("### Where the time goes")[0].rstrip("\n")
    out.write_text(text + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
