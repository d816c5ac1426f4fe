"""Scale check for ``recon bulk plan`` and ``recon bulk analyze``.

    .venv/bin/python benchmarks/bulk_bench.py [--users 100000] [--runs 3]

Builds a data folder with an IdP (``idp``) of ``--users`` users (one group per 100 users, each
user in 5 groups) and a drifted target (``app``: 8% of users missing, 2% orphans, 3% with a
different department, 1% not deactivated, 2% of memberships missing, 1% excess), reconciles
them with ``recon.reconcile.run`` (real findings), then measures, each in a fresh process (median of
``--runs``, with peak RSS):

- ``plan``: findings -> chunked BulkRequests (maxOperations 1000, 1 MiB);
- ``analyze``: every planned operation reported ok (POSTs with a location) checked against the
  target export;
- the floor: a DuckDB scan of the columns plan reads (findings, source users with raw, target
  users/groups, source memberships).

Results go to benchmarks/results/bulk.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recon.schemas import GROUPS, MEMBERSHIPS, USERS  # noqa: E402
from recon.store import Manifest, Store, atomic_write_json  # noqa: E402

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _user(uid: str, index: int, *, external: str | None, active: bool, department: str) -> dict[str, object]:
    name = f"user{index:07d}@example.com"
    raw = {
        "schemas": [CORE, ENTERPRISE],
        "id": uid,
        "userName": name,
        "active": active,
        "name": {"givenName": f"Given{index}", "familyName": f"Family{index}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "title": f"Title {index % 13}",
        ENTERPRISE: {"department": department},
        **({"externalId": external} if external else {}),
    }
    return {
        "id": uid,
        "external_id": external,
        "user_name": name,
        "active": active,
        "display_name": None,
        "given_name": f"Given{index}",
        "family_name": f"Family{index}",
        "emails": [{"value": name, "type": "work", "primary": True}],
        "primary_email": name,
        "employee_number": None,
        "department": department,
        "title": f"Title {index % 13}",
        "manager_id": None,
        "user_type": None,
        "created": None,
        "last_modified": None,
        "version": 'W/"1"',
        "raw": orjson.dumps(raw).decode(),
    }


def _write(
    store: Store,
    system: str,
    users: list[dict[str, object]],
    groups: list[dict[str, object]],
    memberships: list[dict[str, object]],
) -> None:
    ref = store.export(system, "c1")
    ref.path.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(users, schema=USERS), ref.table("users"))
    pq.write_table(pa.Table.from_pylist(groups, schema=GROUPS), ref.table("groups"))
    pq.write_table(pa.Table.from_pylist(memberships, schema=MEMBERSHIPS), ref.table("memberships"))
    atomic_write_json(ref.manifest_path, Manifest(system=system, cycle="c1", kind="full").to_json())


def build(data: Path, n: int) -> None:
    store = Store(data)
    n_groups = max(1, n // 100)
    source_users, target_users = [], []
    for i in range(n):
        sid = f"s{i:07d}"
        leaver = i % 100 == 1
        source_users.append(_user(sid, i, external=None, active=not leaver, department=f"Dept {i % 7}"))
        if i % 100 in range(10, 18):  # 8% missing in the target
            continue
        drift = i % 100 in (20, 21, 22)
        target_users.append(
            _user(
                f"t{i:07d}",
                i,
                external=sid,
                active=True,
                department="Elsewhere" if drift else f"Dept {i % 7}",
            )
        )
    for j in range(n // 50):  # 2% orphans
        target_users.append(_user(f"o{j:07d}", n + j, external=None, active=True, department="X"))
    groups_src = [
        {
            "id": f"sg{g:05d}",
            "external_id": None,
            "display_name": f"group-{g:05d}",
            "created": None,
            "last_modified": None,
            "version": None,
            "raw": json.dumps({"id": f"sg{g:05d}", "displayName": f"group-{g:05d}"}),
        }
        for g in range(n_groups)
    ]
    groups_tgt = [
        {
            "id": f"tg{g:05d}",
            "external_id": f"sg{g:05d}",
            "display_name": f"group-{g:05d}",
            "created": None,
            "last_modified": None,
            "version": 'W/"1"',
            "raw": "{}",
        }
        for g in range(n_groups)
    ]
    present = {u["external_id"] for u in target_users if u["external_id"]}
    src_m, tgt_m = [], []
    for i in range(n):
        for k in range(5):
            g = (i * 7 + k * 13) % n_groups
            src_m.append({"group_id": f"sg{g:05d}", "member_id": f"s{i:07d}", "member_type": "User"})
            if f"s{i:07d}" in present and (i * 5 + k) % 50 != 0:  # 2% of memberships missing
                tgt_m.append({"group_id": f"tg{g:05d}", "member_id": f"t{i:07d}", "member_type": "User"})
        if f"s{i:07d}" in present and i % 100 == 50:  # 1% excess
            tgt_m.append(
                {"group_id": f"tg{(i + 1) % n_groups:05d}", "member_id": f"t{i:07d}", "member_type": "User"}
            )
    _write(store, "idp", source_users, groups_src, src_m)
    _write(store, "app", target_users, groups_tgt, tgt_m)


def step(kind: str, data: Path) -> None:
    """One measured step (run in a child process)."""
    store = Store(data)
    if kind == "reconcile":
        from recon.reconcile import reconcile

        reconcile(store, "idp", "app", "c1")
    elif kind == "plan":
        from recon.bulk.plan import plan

        summary = plan(store, "idp", "app", "c1", out=data / "plan")
        (data / "plan_summary.json").write_text(json.dumps(summary.to_json()))
    elif kind == "analyze":
        from recon.bulk.analyze import analyze_records
        from recon.bulk.model import OperationResult
        from recon.bulk.planfile import load_plan
        from recon.bulk.records import OpRecord

        loaded = load_plan(data / "plan")
        records = []
        for name, chunk in loaded.chunks:
            for index, op in enumerate(chunk.operations, start=1):
                location = (
                    f"https://x/v2/{'Users' if op.path.startswith('/Users') else 'Groups'}/new-{op.bulk_id}"
                )
                result = OperationResult(
                    op.method,
                    op.bulk_id,
                    location if op.method == "POST" else None,
                    None,
                    201 if op.method == "POST" else 200,
                )
                resource_id = f"new-{op.bulk_id}" if op.method == "POST" else op.resource_id
                records.append(OpRecord(name, index, op, "ok", result, None, op.resource_type, resource_id))
        analyze_records(store, "app", records, run_id="bench", cycle="c1")
    elif kind == "floor":
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


def measured(kind: str, data: Path) -> tuple[float, float]:
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([time.perf_counter() - t, peak]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, sys.executable, __file__, "--step", kind, "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, rss_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(rss_kb) / 1024


def scale(data: Path, users: int, runs: int) -> list[str]:
    """Build, reconcile, then measure floor/plan/analyze ``runs`` times; the table rows of one scale."""
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    build(data, users)
    built = time.perf_counter() - started
    rec_s, rec_rss = measured("reconcile", data)
    results: dict[str, list[tuple[float, float]]] = {"floor": [], "plan": [], "analyze": []}
    for _ in range(runs):
        for kind in ("floor", "plan", "analyze"):
            results[kind].append(measured(kind, data))
    summary = json.loads((data / "plan_summary.json").read_text())
    shutil.rmtree(data, ignore_errors=True)
    med = {k: statistics.median(s for s, _ in v) for k, v in results.items()}
    rss = {k: max(r for _, r in v) for k, v in results.items()}
    kinds = ", ".join(f"{k} {v:,}" for k, v in summary["operations"].items())
    lines = [
        f"### {users:,} source users",
        "",
        f"{users // 100:,} groups, {users * 5:,} source memberships (built in {built:.1f} s; reconcile "
        f"{rec_s:.1f} s, {rec_rss:.0f} MB). Plan: {summary['total_operations']:,} operations ({kinds}) in "
        f"{summary['chunks']:,} chunks, {summary['bytes'] / 1e6:.1f} MB; remediates "
        f"{summary['remediated']:,} findings.",
        "",
        "| step | median s | x floor | peak RSS MB |",
        "|---|---|---|---|",
    ]
    for kind in ("floor", "plan", "analyze"):
        ratio = med[kind] / med["floor"] if med["floor"] else float("nan")
        lines.append(f"| {kind} | {med[kind]:.2f} | {ratio:.1f} | {rss[kind]:.0f} |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="100000,1000000", help="comma-separated scales")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--step")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks/work/bulk")
    args = parser.parse_args()
    if args.step:
        step(args.step, args.data)
        return
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "polars", "pyarrow", "orjson"))
    lines = [
        "## recon bulk: plan and analyze at scale",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Python "
        f"{platform.python_version()}; {versions}. Median of {args.runs} runs, each in a fresh process",
        "(so every figure includes interpreter and import start-up, ~1 s). The floor is a DuckDB scan of",
        "the columns plan reads (findings, source users with raw, target users/groups, source memberships).",
        "Target drift: 8% of users missing, 2% orphans, 3% department drift, 1% not deactivated, 2% of",
        "memberships missing, 1% excess. analyze checks every planned operation, reported ok, against the",
        "target export.",
        "",
    ]
    for users in (int(u) for u in str(args.users).split(",")):
        lines += scale(args.data, users, args.runs)
    out = ROOT / "benchmarks/results/bulk.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
