"""Rows of a previous export's ``users.parquet``, taken by position with Arrow and merged with new rows.

A user unchanged since its system's previous full export has the same ``users`` row as there
(:mod:`recon.simulate.unchanged`). :class:`PreviousRows` reads that file a few thousand rows at a
time, in order, and takes the rows asked for (positions only grow, as both exports are in id
order); :func:`merged` puts a page's new rows and taken rows back in the order they were listed.
The columns are Arrow's from end to end: no Python object per taken user.
"""

from __future__ import annotations

from bisect import bisect_left
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.schemas import USERS

__all__ = ["PreviousRows", "merged"]


class PreviousRows:
    """The rows of one ``users.parquet`` (in the :data:`recon.schemas.USERS` schema), by position.

    The file is read once, in order, ``batch_rows`` rows at a time; a batch is let go once the
    positions asked for have passed it, so what is held is a batch or two, not a row group.
    """

    def __init__(self, path: Path, batch_rows: int = 4096) -> None:
        self._path = path
        # pre_buffer off: with it, the reader keeps every row group's compressed bytes it read until
        # it is closed (the whole file by the end)
        self._batches = pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)
        self._held: list[tuple[int, pa.RecordBatch]] = []  # (its first row, batch), in order
        self._read = 0  # rows read so far

    def take(self, positions: list[int], ids: list[str]) -> list[pa.RecordBatch]:
        """The rows at ``positions`` (increasing, and above those of earlier calls), in order,
        checked to be the users ``ids``: a row that is not the user asked for is a bug, not a
        difference."""
        released = False
        while self._held and self._held[0][0] + self._held[0][1].num_rows <= positions[0]:
            del self._held[0]  # positions only grow: those rows are never asked for again
            released = True
        if released:  # Arrow's allocator keeps freed blocks for reuse: hand them back as we go
            pa.default_memory_pool().release_unused()
        while self._read <= positions[-1]:
            batch = next(self._batches, None)
            if batch is None:
                raise AssertionError(f"{self._path}: row {positions[-1]} is beyond its {self._read} rows")
            if not batch.schema.equals(USERS):
                batch = batch.cast(USERS)
            self._held.append((self._read, batch))
            self._read += batch.num_rows
        parts, done = [], 0
        for first, batch in self._held:
            end = bisect_left(positions, first + batch.num_rows, done)
            if end > done:
                parts.append(batch.take(pc.subtract(pa.array(positions[done:end], pa.int64()), first)))
                done = end
        got = pa.concat_arrays([part.column(0) for part in parts])
        if done != len(positions) or not pc.all(pc.equal(got, pa.array(ids, pa.string()))).as_py():
            raise AssertionError(f"{self._path}: the previous export's rows are not the users asked for")
        return parts


def merged(new: pa.RecordBatch | None, taken: list[pa.RecordBatch], is_taken: bytearray) -> pa.RecordBatch:
    """One batch of ``users`` rows: row ``i`` is the next taken row where ``is_taken[i]``, else the
    next new row (both in their order). Contiguous, in the :data:`USERS` schema."""
    table = pa.Table.from_batches([*([] if new is None else [new]), *taken], USERS)
    count = len(is_taken)
    flags = pa.Array.from_buffers(pa.uint8(), count, [None, pa.py_buffer(bytes(is_taken))]).cast(pa.int64())
    new_count = 0 if new is None else new.num_rows
    taken_at = pc.add(pc.cumulative_sum(flags), new_count - 1)  # after the new rows, in order
    new_at = pc.subtract(pc.cumulative_sum(pc.subtract(1, flags)), 1)
    order = pc.if_else(pc.cast(flags, pa.bool_()), taken_at, new_at)
    rows = table.take(order).combine_chunks()
    batches = rows.to_batches()
    if not batches:
        return pa.RecordBatch.from_pylist([], USERS)
    if len(batches) > 1:  # combine_chunks leaves one chunk: more would be rows dropped silently
        raise AssertionError(f"{len(batches)} batches where combine_chunks leaves one")
    return batches[0]
