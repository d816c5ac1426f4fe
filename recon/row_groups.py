"""Parquet files as recon writes them: fixed row groups, so the same rows always give the same bytes.

Exports (:mod:`recon.extract.writer`) and every engine's result tables
(:meth:`recon.engine.Session.write_parquet`) go through :func:`write_batches` or
:class:`RowGroupFile`; it sits below both so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_ROWS", "ROW_GROUP_TEXT_BYTES", "RowGroupFile", "write_batches"]

ROW_GROUP_ROWS = 16_384
# Readers hold a row group per thread and parallelise by row group: 10,000 groups of 500 members
# were one 445 MB row group, read by one thread (benchmarks/results/validate.md).
ROW_GROUP_TEXT_BYTES = 32 * 2**20


class RowGroupFile:
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
    out = RowGroupFile(path, schema)
    for batch in batches:
        for part in pa.Table.from_batches([batch]).cast(schema).to_batches():
            out.add(part)
    return out.close()
