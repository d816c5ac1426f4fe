"""Benchmark: `recon import` of a 1M-user NDJSON file (issue: peak RSS < 1.5 GB).

Generates the NDJSON (not committed) under benchmarks/work/, then measures in the same run:
- the floor: DuckDB's own NDJSON reader turning the same file into Parquet (read_json → COPY);
- `recon import` of the file (parse, validate, normalise, dedupe, order, write three tables).
Medians of --runs runs; wall time and peak RSS of each child process.

    python benchmarks/import_bench.py --users 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, measured_in_child, median, versions, write_result

WORK = Path(__file__).resolve().parent / "work" / "import"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def generate(path: Path, users: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    departments = ["Sales", "R&D", "Finance", "Support", "Légal", "運用"]
    with path.open("wb") as out:
        for i in range(users):
            resource = {
                "schemas": [USER, ENTERPRISE],
                "id": f"{i:08x}-user",
                "externalId": f"E{i}",
                "userName": f"user{i}@example.com",
                "active": rng.random() > 0.05,
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i % 997}"},
                "displayName": f"Given{i} Family{i % 997}",
                "title": rng.choice(["Engineer", "Manager", "Analyst"]),
                "emails": [
                    {"value": f"user{i}@example.com", "type": "work", "primary": True},
                    {"value": f"u{i}@home.example", "type": "home"},
                ],
                ENTERPRISE: {
                    "employeeNumber": str(i),
                    "department": rng.choice(departments),
                    "manager": {"value": f"{max(i - 7, 0):08x}-user"},
                },
                "meta": {
                    "resourceType": "User",
                    "created": "2025-06-01T08:00:00Z",
                    "lastModified": f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00+01:00",
                    "version": f'W/"{i % 13}"',
                },
            }
            out.write(orjson.dumps(resource) + b"\n")


FLOOR = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
source, target = sys.argv[1], sys.argv[2]
reader = f"read_json('{source}', format='newline_delimited')"
con.execute(f"COPY (SELECT * FROM {reader}) TO '{target}' (FORMAT parquet)")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / f"users-{args.users}.ndjson"
    if not source.exists():
        generate(source, args.users)
    size_mb = source.stat().st_size / 1024**2
    floor, recon = [], []
    for run in range(args.runs):
        data = WORK / f"data-{run}"
        shutil.rmtree(data, ignore_errors=True)
        floor.append(
            measured_in_child([sys.executable, "-c", FLOOR, str(source), str(WORK / "floor.parquet")])
        )
        recon.append(
            measured_in_child(
                [
                    sys.executable,
                    "-m",
                    "recon",
                    "import",
                    str(source),
                    "--system",
                    "bench",
                    "--cycle",
                    "c1",
                    "--data-dir",
                    str(data),
                ]
            )
        )
        shutil.rmtree(data, ignore_errors=True)
    floor_s = median([r.seconds for r in floor])
    recon_s = median([r.seconds for r in recon])
    floor_rss = max(r.peak_rss_mb for r in floor)
    recon_rss = max(r.peak_rss_mb for r in recon)
    text = f"""# recon import — {args.users:,} users from one NDJSON file ({size_mb:,.0f} MB)

Machine: {machine()}. Versions: {versions("recon", "duckdb", "polars", "pyarrow", "orjson")}.
Runs: {args.runs} (medians; the machine is shared and noisy).

| step | median seconds | users/s | peak RSS (max over runs) |
|---|---|---|---|
| floor: DuckDB read_json → Parquet, same file \
| {floor_s:.1f} | {args.users / floor_s:,.0f} | {floor_rss:,.0f} MB |
| `recon import` (parse, check, normalise, dedupe, order by id, 3 tables + manifest) \
| {recon_s:.1f} | {args.users / recon_s:,.0f} | {recon_rss:,.0f} MB |

Ratio recon / floor: {recon_s / floor_s:.2f}x. Goal: peak RSS < 1.5 GB (1,536 MB).
"""
    path = write_result("import", text)
    print(text)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
