"""Stream normalised resources into an export partition (CONTRACT §3).

Resources are appended in batches to ``_received/*.parquet`` inside a staging folder
(memory stays flat however large the export); :meth:`ExportWriter.finish` then keeps
one copy per id, orders rows by id (so the same input always gives byte-identical
files) and writes ``users``, ``groups`` and ``memberships`` beside the manifest.
The staging folder is published by :meth:`recon.store.Store.publishing`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from recon.engine import Parquet, run_sql
from recon.extract.normalize import Normalised
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.store import Manifest, atomic_write_json

__all__ = ["ExportWriter", "write_table"]

_SEQ = pa.field("_seq", pa.int64())
_RECEIVED = {
    "users": USERS.append(_SEQ),
    "groups": GROUPS.append(_SEQ),
    "memberships": MEMBERSHIPS.append(pa.field("_group_seq", pa.int64())).append(_SEQ),
}
_FINAL = {"users": USERS, "groups": GROUPS, "memberships": MEMBERSHIPS}


def write_table(relation: duckdb.DuckDBPyRelation, path: Path, schema: pa.Schema) -> int:
    """Write a DuckDB relation to ``path`` as Parquet with exactly ``schema``; returns rows.

    Batches stream through a single writer (one thread, fixed row groups), so the same
    rows always give the same bytes.
    """
    rows = 0
    reader = relation.to_arrow_reader(batch_size=65_536)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch]).cast(schema)
            writer.write_table(table, row_group_size=131_072)
            rows += table.num_rows
    if rows == 0:
        pq.write_table(schema.empty_table(), path, compression="zstd")
    return rows


class ExportWriter:
    """Collects normalised resources for one export and writes its tables on :meth:`finish`."""

    def __init__(self, staging: Path, *, batch_rows: int = 20_000) -> None:
        self.staging = staging
        self._received_dir = staging / "_received"
        self._received_dir.mkdir(parents=True, exist_ok=True)
        self._batch_rows = batch_rows
        self._buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in _RECEIVED}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._seq = 0
        self._closed = False
        self.received = {"User": 0, "Group": 0}

    def add(self, resource: Normalised) -> None:
        """Append one resource (and a group's memberships)."""
        self._seq += 1
        seq = self._seq
        if resource.resource_type == "User":
            self._buffers["users"].append({**resource.row, "_seq": seq})
            self.received["User"] += 1
        else:
            self._buffers["groups"].append({**resource.row, "_seq": seq})
            self.received["Group"] += 1
            for index, membership in enumerate(resource.memberships):
                self._buffers["memberships"].append(
                    {**membership, "_group_seq": seq, "_seq": seq * 1_000_000 + index}
                )
        for name, buffer in self._buffers.items():
            if len(buffer) >= self._batch_rows:
                self._flush(name)

    def _flush(self, name: str) -> None:
        buffer = self._buffers[name]
        if not buffer:
            return
        table = pa.Table.from_pylist(buffer, schema=_RECEIVED[name])
        writer = self._writers.get(name)
        if writer is None:
            writer = pq.ParquetWriter(self._received_dir / f"{name}.parquet", _RECEIVED[name])
            self._writers[name] = writer
        writer.write_table(table)
        buffer.clear()

    def close(self) -> None:
        """Flush and close the received parts (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        for name in _RECEIVED:
            self._flush(name)
            if name not in self._writers:
                pq.write_table(_RECEIVED[name].empty_table(), self._received_dir / f"{name}.parquet")
        for writer in self._writers.values():
            writer.close()

    def finish(self, con: duckdb.DuckDBPyConnection, manifest: Manifest) -> Manifest:
        """Deduplicate, order and write the three tables and ``manifest.json`` into staging.

        Duplicate ids are recorded in the manifest (``duplicates_dropped`` and an anomaly
        with up to 20 example ids).
        """
        self.close()
        received = {name: Parquet.of(self._received_dir / f"{name}.parquet") for name in _RECEIVED}
        duplicates = run_sql(
            "export_duplicate_ids",
            None,
            {"received_users": received["users"], "received_groups": received["groups"]},
            con=con,
        ).fetchall()
        if duplicates:
            extra = sum(int(row[2]) for row in duplicates)
            manifest.duplicates_dropped += extra
            examples = [f"{row[0]} {row[1]}" for row in duplicates[:20]]
            manifest.add_anomaly(
                "duplicate_ids",
                f"{extra} extra copies of {len(duplicates)} ids dropped (first copy kept)",
                count=extra,
                examples=examples,
            )
        rows = {
            "users": write_table(
                run_sql("export_users_dedupe", None, {"received_users": received["users"]}, con=con),
                self.staging / "users.parquet",
                USERS,
            ),
            "groups": write_table(
                run_sql("export_groups_dedupe", None, {"received_groups": received["groups"]}, con=con),
                self.staging / "groups.parquet",
                GROUPS,
            ),
            "memberships": write_table(
                run_sql(
                    "export_memberships_dedupe",
                    None,
                    {"received_groups": received["groups"], "received_memberships": received["memberships"]},
                    con=con,
                ),
                self.staging / "memberships.parquet",
                MEMBERSHIPS,
            ),
        }
        manifest.rows = rows
        manifest.items_received = {
            "Users": self.received["User"],
            "Groups": self.received["Group"],
        }
        shutil.rmtree(self._received_dir, ignore_errors=True)
        atomic_write_json(self.staging / "manifest.json", manifest.to_json())
        return manifest
