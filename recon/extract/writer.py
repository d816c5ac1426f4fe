"""Stream normalised resources into an export partition (CONTRACT §3).

Every table keeps one copy per id, is ordered by id and is written in row groups (whole, one
chunk each) of :data:`ROW_GROUP_ROWS` rows, or fewer when their text reaches
:data:`ROW_GROUP_TEXT_BYTES` (groups with large member lists), so the same rows always give the
same bytes however they arrived.

Users arriving in strictly increasing id order (the common case: servers list by id) go
straight into ``users.parquet`` as they come, in Arrow batches (:meth:`ExportWriter.add_users`)
or one by one (:meth:`ExportWriter.add`); there is nothing to drop and nothing to sort. From
the first id out of order on, the rows written so far and every later one go to
``_received/users.parquet`` with their arrival number, and :meth:`ExportWriter.finish`
keeps the first copy of each id and sorts in DuckDB (which spills beyond its memory cap), as
it always does for groups and memberships. Memory stays flat however large the export.
The staging folder is published by :meth:`recon.store.Store.publishing`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.engine import Parquet, Session
from recon.extract.normalize import Normalised
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.store import Manifest, atomic_write_json

__all__ = ["ROW_GROUP_ROWS", "ROW_GROUP_TEXT_BYTES", "Connection", "ExportWriter", "write_batches"]

ROW_GROUP_ROWS = 16_384
# Readers hold a row group per thread and parallelise by row group: 10,000 groups of 500 members
# were one 445 MB row group, read by one thread (benchmarks/results/validate.md).
ROW_GROUP_TEXT_BYTES = 32 * 2**20
Connection = Session | Callable[[], Session]
"""An engine session, or a function that opens one (called only when there is SQL to run)."""
_SEQ = pa.field("_seq", pa.int64())
_RECEIVED = {
    "users": USERS.append(_SEQ),
    "groups": GROUPS.append(_SEQ),
    "memberships": MEMBERSHIPS.append(pa.field("_group_seq", pa.int64())).append(_SEQ),
}
_FINAL = {"users": USERS, "groups": GROUPS, "memberships": MEMBERSHIPS}


class _RowGroups:
    """A Parquet file with exactly ``schema``, written in whole row groups.

    A row group ends after :data:`ROW_GROUP_ROWS` rows, or at the row that brings the text of
    its string columns to :data:`ROW_GROUP_TEXT_BYTES`: where it ends depends on the rows
    alone. Each row group is one contiguous chunk: how the rows were batched on the way never
    shows in the bytes (the Parquet writer's pages follow chunk boundaries). Row groups are
    encoded and compressed on a worker thread (Arrow does it without the GIL), one at a time,
    while the caller gathers the next.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_text = 0
        self._writer: pq.ParquetWriter | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        """Append rows (in their final order)."""
        while batch.num_rows:
            cut, text = self._cut(batch)
            if cut is None:
                self._pending.append(batch)
                self._pending_rows += batch.num_rows
                self._pending_text += text
                return
            group, self._pending, self._pending_rows, self._pending_text = (
                [*self._pending, batch.slice(0, cut)],
                [],
                0,
                0,
            )
            self._write(group)
            batch = batch.slice(cut)  # no copy: the slices share the page's buffers

    def _cut(self, batch: pa.RecordBatch) -> tuple[int | None, int]:
        """How many rows of ``batch`` close the open row group (None: all fit), and their text bytes."""
        rows_left = ROW_GROUP_ROWS - self._pending_rows
        sizes = _text_bytes(batch)
        text = pc.sum(sizes).as_py() or 0
        if self._pending_text + text < ROW_GROUP_TEXT_BYTES:
            return (rows_left if batch.num_rows >= rows_left else None), text
        reached = pc.greater_equal(pc.cumulative_sum(sizes), ROW_GROUP_TEXT_BYTES - self._pending_text)
        by_text = pc.index(reached, True).as_py() + 1
        return min(by_text, rows_left), text

    def _write(self, group: list[pa.RecordBatch]) -> None:
        """Write one row group after the one before (joined into one chunk per column there)."""
        self._wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-parquet")
        self._writing = self._pool.submit(self._write_now, group)
        self.rows += sum(batch.num_rows for batch in group)

    def _write_now(self, group: list[pa.RecordBatch]) -> None:
        table = pa.Table.from_batches(group, self.schema).combine_chunks()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def _wait(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def close(self) -> int:
        """Write what is pending and close; returns the rows written (an empty table when none)."""
        if self._pending_rows:
            group, self._pending, self._pending_rows, self._pending_text = self._pending, [], 0, 0
            self._write(group)
        self._stop()
        if self._writer is None:
            pq.write_table(self.schema.empty_table(), self.path, compression="zstd")
        else:
            self._writer.close()
        return self.rows

    def _stop(self) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def abandon(self) -> Iterator[pa.RecordBatch]:
        """Close without writing the pending rows; yield the rows written (read back), then those."""
        self._stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            yield from pq.ParquetFile(self.path).iter_batches(batch_size=ROW_GROUP_ROWS)
            self.path.unlink()
        pending, self._pending, self._pending_rows, self._pending_text = self._pending, [], 0, 0
        yield from pending


def _text_bytes(batch: pa.RecordBatch) -> pa.Array:
    """The bytes of text each row holds in its string columns (0 where null)."""
    sizes: pa.Array = pa.nulls(batch.num_rows, pa.int64()).fill_null(0)
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            sizes = pc.add(sizes, pc.cast(pc.binary_length(column), pa.int64()).fill_null(0))
    return sizes


def write_batches(batches: Iterable[pa.RecordBatch], path: Path, schema: pa.Schema) -> int:
    """Write Arrow batches to ``path`` as Parquet with exactly ``schema``; returns rows.

    Batches stream through a single writer in fixed row groups, so the same rows always
    give the same bytes (whatever batch sizes an engine's threads hand out). Engines write
    their result tables through it (:meth:`recon.engine.Session.write_parquet`).
    """
    out = _RowGroups(path, schema)
    for batch in batches:
        for part in pa.Table.from_batches([batch]).cast(schema).to_batches():
            out.add(part)
    return out.close()


class _UsersSink:
    """The users of one export: straight to ``users.parquet`` while ids increase, else to ``_received``."""

    def __init__(self, staging: Path, received_dir: Path) -> None:
        self._final = _RowGroups(staging / "users.parquet", USERS)
        self._received_path = received_dir / "users.parquet"
        self._received: pq.ParquetWriter | None = None
        self._last: str | None = None
        self._seq = 0
        self.ordered = True

    def add(self, batch: pa.RecordBatch) -> None:
        """Append users in arrival order."""
        if batch.num_rows == 0:
            return
        if self.ordered:
            ids = batch.column(0)
            last = ids[len(ids) - 1].as_py()
            increasing = (self._last is None or ids[0].as_py() > self._last) and (
                len(ids) == 1 or pc.all(pc.greater(ids[1:], ids[:-1])).as_py()
            )
            if increasing:
                self._final.add(batch)
                self._last = last
                self._seq += batch.num_rows
                return
            self.ordered = False
            self._seq = 0
            for earlier in self._final.abandon():
                self._receive(earlier)
        self._receive(batch)

    def _receive(self, batch: pa.RecordBatch) -> None:
        if self._received is None:
            self._received = pq.ParquetWriter(self._received_path, _RECEIVED["users"])
        seq = pa.array(range(self._seq + 1, self._seq + 1 + batch.num_rows), pa.int64())
        self._seq += batch.num_rows
        self._received.write_batch(
            pa.RecordBatch.from_arrays([*batch.columns, seq], schema=_RECEIVED["users"])
        )

    def close_received(self) -> None:
        """Close ``_received/users.parquet`` (an empty one when the users were in order)."""
        if self._received is not None:
            self._received.close()
            self._received = None
        elif not self._received_path.exists():
            pq.write_table(_RECEIVED["users"].empty_table(), self._received_path)

    def close_final(self) -> int:
        """Finish ``users.parquet`` when the users came in order; returns its rows."""
        return self._final.close()


class ExportWriter:
    """Collects normalised resources for one export and writes its tables on :meth:`finish`."""

    def __init__(self, staging: Path, *, batch_rows: int = 20_000) -> None:
        self.staging = staging
        self._received_dir = staging / "_received"
        self._received_dir.mkdir(parents=True, exist_ok=True)
        self._batch_rows = batch_rows
        self._buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in _RECEIVED}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._users = _UsersSink(staging, self._received_dir)
        self._seq = 0
        self._closed = False
        self.received = {"User": 0, "Group": 0}

    def add(self, resource: Normalised) -> None:
        """Append one resource (and a group's memberships)."""
        self._seq += 1
        seq = self._seq
        if resource.resource_type == "User":
            self._buffers["users"].append(resource.row)
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

    def add_users(self, batch: pa.RecordBatch) -> None:
        """Append users given as rows of the ``users`` table (e.g. from :mod:`recon.extract.columns`)."""
        self._flush("users")
        self._seq += batch.num_rows
        self.received["User"] += batch.num_rows
        self._users.add(batch)

    def _flush(self, name: str) -> None:
        buffer = self._buffers[name]
        if not buffer:
            return
        if name == "users":
            self._users.add(pa.RecordBatch.from_pylist(buffer, schema=USERS))
            buffer.clear()
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
            if name != "users" and name not in self._writers:
                pq.write_table(_RECEIVED[name].empty_table(), self._received_dir / f"{name}.parquet")
        self._users.close_received()
        for writer in self._writers.values():
            writer.close()

    def finish(self, con: Connection, manifest: Manifest) -> Manifest:
        """Deduplicate, order and write the three tables and ``manifest.json`` into staging.

        Duplicate ids are recorded in the manifest (``duplicates_dropped`` and an anomaly
        with up to 20 example ids). ``con`` may be a function that connects: it is called
        only when there is something to sort.
        """
        self.close()
        lazy = con

        def sql() -> Session:
            return lazy() if callable(lazy) else lazy

        received = {name: Parquet.of(self._received_dir / f"{name}.parquet") for name in _RECEIVED}
        groups = self.received["Group"] > 0
        duplicates = []
        if groups or not self._users.ordered:  # users in increasing id order have no duplicates
            session = sql()
            duplicates = session.tuples(
                session.run(
                    "export_duplicate_ids",
                    inputs={"received_users": received["users"], "received_groups": received["groups"]},
                )
            )
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
        if self._users.ordered:
            users = self._users.close_final()  # in id order, no id twice: already the table
        else:
            session = sql()
            users = session.write_parquet(
                session.run("export_users_dedupe", inputs={"received_users": received["users"]}),
                self.staging / "users.parquet",
                USERS,
            )
        rows = {"users": users, "groups": 0, "memberships": 0}
        if not groups:  # nothing to sort: the two empty tables
            _RowGroups(self.staging / "groups.parquet", GROUPS).close()
            _RowGroups(self.staging / "memberships.parquet", MEMBERSHIPS).close()
        else:
            session = sql()
            rows["groups"] = session.write_parquet(
                session.run("export_groups_dedupe", inputs={"received_groups": received["groups"]}),
                self.staging / "groups.parquet",
                GROUPS,
            )
            rows["memberships"] = session.write_parquet(
                session.run(
                    "export_memberships_dedupe",
                    inputs={
                        "received_groups": received["groups"],
                        "received_memberships": received["memberships"],
                    },
                ),
                self.staging / "memberships.parquet",
                MEMBERSHIPS,
            )
        manifest.rows = rows
        manifest.items_received = {
            "Users": self.received["User"],
            "Groups": self.received["Group"],
        }
        shutil.rmtree(self._received_dir, ignore_errors=True)
        atomic_write_json(self.staging / "manifest.json", manifest.to_json())
        return manifest
