"""Writing what the simulator produces: exports (Parquet, or SCIM ListResponse pages) and truth tables.

Parquet exports go through the same path as ``recon import``: users are made into columns by
Arrow from their JSON texts in pages (:mod:`recon.extract.json_columns`, the rows ``normalise`` gives,
tested equal), every other resource and every user of a page the columns refuse is normalised
(:func:`recon.extract.normalize.normalise`), and all of it streams into an
:class:`~recon.extract.writer.ExportWriter` inside :meth:`recon.store.Store.publishing`, so
``raw`` and the flattened columns always agree. ``scim-json`` writes the same resources as
ListResponse pages (``users-0001.json``, ``groups-0001.json`` …) that ``recon import`` turns
into identical tables. Truth tables are written whole, by rename.
"""

from __future__ import annotations

import contextlib
import io
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from recon.engine.duckdb import DuckDBSession, connect
from recon.extract.json_columns import lines_of, page_rows
from recon.extract.normalize import Normalised, normalise
from recon.extract.writer import ExportWriter
from recon.fingerprint import content_sha256
from recon.schemas import DELTA_FINDINGS, FINDINGS, USERS
from recon.simulate.memo import Doc, Memo
from recon.simulate.previous_rows import PreviousRows, merged
from recon.store import Manifest, Store, atomic_write_bytes

__all__ = [
    "DELTA_FINDINGS",
    "FINDINGS",
    "LEAVERS",
    "LIST_RESPONSE",
    "PAGE_SIZE",
    "ParquetExports",
    "json_pages_export",
    "write_rows",
]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PAGE_SIZE = 1000
# users per page given to the columns: as many as ExportWriter buffers before it writes, so its
# files (and DuckDB's work on them) are those of adding the users one by one
USERS_PAGE = 20_000
# when users are taken from the previous export: pages as small as the batches it is read in,
# so a page's rows (read, taken and merged) are held a few MB at a time
TAKING_PAGE = 4096
# pages sent to the worker thread and not yet written while the caller gathers the next one
_PAGES_IN_FLIGHT = 1
_MAX_TEXT = 2**31 - 1  # Arrow's string offsets are int32
LEAVERS = pa.schema(
    [
        ("source_id", pa.string()),
        ("user_name", pa.string()),
        ("target", pa.string()),
        ("left_cycle", pa.string()),
        ("target_resolved_cycle", pa.string()),
        ("deleted_cycle", pa.string()),
    ]
)

Add = Callable[[Doc], None]


def write_rows(path: Path, rows: Sequence[NamedTuple], schema: pa.Schema) -> None:
    """Write named-tuple rows as one Parquet file with exactly ``schema`` (atomically)."""
    columns = {name: [getattr(row, name) for row in rows] for name in schema.names}
    table = pa.table(columns, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    atomic_write_bytes(path, buffer.getvalue())


def _lines(raws: list[bytes]) -> tuple[bytes, array[int]] | None:
    """The page's texts one per line and where each starts (int32, as Arrow takes them), or
    None when they are too long for int32 offsets (then the page needs ``normalise``).

    Made on the caller's thread, where they were before the pages thread: glibc gives each
    thread that allocates its own arena, and a second arena holding pages of texts (~20 MB each)
    kept ~10 MiB more resident after every export (at 100,000 users).
    """
    text, offsets = lines_of(raws)
    return None if offsets[-1] > _MAX_TEXT else (text, array("i", offsets))


def _users_rows(
    lines: tuple[bytes, array[int]] | None, count: int, prints: list[bytes | None] | None
) -> pa.RecordBatch | None:
    """The ``users`` rows of ``count`` User texts (as :func:`_lines` gives them), made by Arrow
    (:mod:`recon.extract.json_columns`: the rows ``normalise`` gives), or None when the page
    needs ``normalise``.

    Run on :class:`ParquetExports`' pages thread, one page at a time while the caller renders the
    next: the CPU time is the same as on the caller's thread, but most of it (Arrow, without the
    GIL) no longer adds to the caller's, i.e. to wall time when the second core is free. (Pages
    made on :class:`recon.extract.columns.UsersColumns`' thread were dropped in 8e9d00e for a
    peak RSS ~25% higher at 50,000 users; this thread holds a page or two, see
    benchmarks/results/simulate.md.)
    """
    if lines is None:
        return None
    text, offsets = lines
    given = None if prints is None else pa.array(prints, pa.binary())
    return page_rows(pa.py_buffer(text), pa.py_buffer(offsets), [count], given)[0]


class ParquetExports:
    """Writes Parquet export partitions; the last step of each runs on a background thread.

    Resources are normalised and appended on the caller's thread, except the users' pages: their
    columns are made (and taken from the previous export) and written on a pages thread, one
    page behind the caller; the sort-and-write of
    :meth:`ExportWriter.finish` (DuckDB and Arrow, which release the GIL) and the publishing
    rename run on one worker thread while the caller renders the next export. A resource
    identical to one of the system's previous full export (the same JSON text) reuses its
    normalised rows: ``normalise`` is a pure function of the resource. :meth:`close` waits for
    every export and raises the first error.
    """

    def __init__(self, store: Store, buffer_default: str, *, background: bool = True) -> None:
        self.store = store
        self._buffer_default = buffer_default
        # opened when an export has something to sort: the simulator gives its resources in id
        # order, so usually never (DuckDB's memory then never adds to the simulation's)
        self._con: DuckDBSession | None = None
        # in the background only for small directories: for large ones DuckDB's memory would add
        # to the caller's peak instead of following it
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-simulate") if background else None
        )
        self._pending: list[Future[None]] = []
        self._memos: dict[str, Memo[Normalised]] = {}

    @contextlib.contextmanager
    def export(self, manifest: Manifest, memoise: bool, previous: Path | None = None) -> Iterator[Add]:
        """Yield ``add(doc)``; the export is published after the block. ``previous``: the system's
        previous full ``users.parquet``, where the rows of the users given unchanged are taken."""
        self._raise_failures()
        ref = self.store.export(manifest.system, manifest.cycle, manifest.kind)
        stack = contextlib.ExitStack()
        staging = stack.enter_context(self.store.publishing(ref.path))
        memo = self._memos.setdefault(manifest.system, Memo(memoise))
        taken_from = None if previous is None else PreviousRows(previous)
        pending: list[bytes] = []  # the texts only: a user is parsed again only if its page is refused
        prints: list[bytes | None] = []  # their content prints, from the rendered objects at hand
        taken: list[int] = []  # rows of the previous export, for the users given unchanged
        taken_ids: list[str] = []
        is_taken = bytearray()  # per user of the page, in order: taken (1) or rendered (0)
        # a page's columns are made (and written) on a worker thread while the caller renders the
        # next page: Arrow does most of it without the GIL. The caller touches the writer only
        # once every page sent is done (before a group, and at the end), so the two never share it
        pages = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-pages")
        sent: deque[Future[None]] = deque()
        try:
            writer = ExportWriter(staging, batch_rows=USERS_PAGE)

            def normalised(doc: Doc) -> None:
                writer.add(memo.get(doc.raw, lambda: normalise(doc.data, doc.raw.decode("utf-8"))))

            def write(
                pending: list[bytes],
                lines: tuple[bytes, array[int]] | None,
                prints: list[bytes | None],
                taken: list[int],
                taken_ids: list[str],
                is_taken: bytearray,
            ) -> None:
                # a memoised text comes without its object: then the columns parse every text
                given = prints if len(prints) == len(pending) else None
                batch = _users_rows(lines, len(pending), given) if pending else None
                if taken:
                    assert taken_from is not None
                    if pending and batch is None:  # a page the columns refuse: rows by normalise
                        rows = [normalise(Doc(raw, False).data, raw.decode("utf-8")).row for raw in pending]
                        batch = pa.RecordBatch.from_pylist(rows, schema=USERS)
                    writer.add_users(merged(batch, taken_from.take(taken, taken_ids), is_taken))
                elif batch is not None:
                    writer.add_users(batch)
                else:  # a page the columns refuse (e.g. schema faults): resource by resource
                    for raw in pending:
                        normalised(Doc(raw, False))

            def send() -> None:
                nonlocal pending, prints, taken, taken_ids, is_taken
                if not is_taken:
                    return
                lines = _lines(pending) if pending else None
                sent.append(pages.submit(write, pending, lines, prints, taken, taken_ids, is_taken))
                pending, prints, taken, taken_ids, is_taken = [], [], [], [], bytearray()
                while len(sent) > _PAGES_IN_FLIGHT:
                    sent.popleft().result()

            def drain() -> None:
                send()
                while sent:
                    sent.popleft().result()

            def add(doc: Doc) -> None:
                if not doc.group:
                    if doc.previous >= 0:
                        assert doc.row is not None
                        taken.append(doc.previous)
                        taken_ids.append(doc.row.id)
                        is_taken.append(1)
                    else:
                        pending.append(doc.raw)
                        is_taken.append(0)
                        if doc.content_print is not None:
                            prints.append(doc.content_print)
                        elif (resource := doc.parsed) is not None:
                            prints.append(content_sha256(resource, "User"))
                    if len(is_taken) >= (TAKING_PAGE if taken_from is not None else USERS_PAGE):
                        send()
                    return
                drain()  # the users before a group are written before it, as they arrived
                members = doc.members
                if members is None:
                    normalised(doc)
                    return
                # ``data`` is the group without its members (which normalise leaves out of the
                # row): the row alone, and the members as columns
                row = memo.get(doc.raw, lambda: normalise(doc.data, doc.raw.decode("utf-8"))).row
                ids = members.users + members.groups
                kinds: list[str | None] = ["User"] * len(members.users)
                kinds += ["Group"] * len(members.groups)
                writer.add_group(row, ids, kinds)

            yield add
            drain()
            # the worker's Arrow memory is its own (mimalloc keeps a heap per thread): handed back there
            pages.submit(pa.default_memory_pool().release_unused).result()
            writer.close()
            taken_from = None  # the previous export's row groups go now, not with the writer
        except BaseException as exc:
            pages.shutdown(wait=True, cancel_futures=True)
            if not stack.__exit__(type(exc), exc, exc.__traceback__):
                raise
            return
        pages.shutdown(wait=True)
        if manifest.kind == "full":
            memo.rotate()
        if self._pool is None:
            self._finish(writer, manifest, stack)
            # Arrow's allocator keeps what it freed for reuse; hand it back before the truth is
            # computed (where a large simulation's memory peaks), not when the allocator decides
            pa.default_memory_pool().release_unused()
        else:
            self._pending.append(self._pool.submit(self._finish, writer, manifest, stack))

    def _session(self) -> DuckDBSession:
        if self._con is None:
            # RECON_MEMORY_LIMIT, when set, bounds the process; else DuckDB gets ``buffer_default``
            con = connect(temp_dir=self.store.temp_dir, buffer_default=self._buffer_default)
            con.execute("SET enable_progress_bar = false")
            self._con = DuckDBSession(con=con)
        return self._con

    def _finish(self, writer: ExportWriter, manifest: Manifest, stack: contextlib.ExitStack) -> None:
        try:
            writer.finish(self._session, manifest)
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # removes the staging folder
            raise
        stack.close()  # publishes

    def _raise_failures(self) -> None:
        for future in [f for f in self._pending if f.done()]:
            self._pending.remove(future)
            future.result()

    def close(self) -> None:
        """Wait for every export still being finished; raise the first failure."""
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            if self._con is not None:
                self._con.close()


class _Pages:
    """ListResponse pages of one resource type, written as they fill (one resource per line)."""

    def __init__(self, folder: Path, stem: str, total: int, page_size: int) -> None:
        self.folder, self.stem, self.total, self.page_size = folder, stem, total, page_size
        self.buffer: list[bytes] = []
        self.written = 0
        self.files: list[Path] = []

    def add(self, raw: bytes) -> None:
        self.buffer.append(raw)
        if len(self.buffer) >= self.page_size:
            self.flush()

    def flush(self, *, final: bool = False) -> None:
        if not self.buffer and not (final and not self.files):
            return
        head = {
            "schemas": [LIST_RESPONSE],
            "totalResults": self.total,
            "startIndex": self.written + 1,
            "itemsPerPage": len(self.buffer),
        }
        text = orjson.dumps(head)[:-1] + b',"Resources":[\n' + b",\n".join(self.buffer) + b"\n]}\n"
        path = self.folder / f"{self.stem}-{len(self.files) + 1:04d}.json"
        path.write_bytes(text)
        self.files.append(path)
        self.written += len(self.buffer)
        self.buffer = []


@contextlib.contextmanager
def json_pages_export(
    store: Store, folder: Path, users: int, groups: int, page_size: int = PAGE_SIZE
) -> Iterator[tuple[Add, list[str]]]:
    """Yield ``add(resource)`` and the list the page file names are added to; published on exit."""
    names: list[str] = []
    with store.publishing(folder) as staging:
        pages = {
            "users": _Pages(staging, "users", users, page_size),
            "groups": _Pages(staging, "groups", groups, page_size),
        }

        def add(doc: Doc) -> None:
            pages["groups" if doc.group else "users"].add(doc.raw)

        yield add, names
        for part in pages.values():
            part.flush(final=True)
            names.extend(path.name for path in part.files)
