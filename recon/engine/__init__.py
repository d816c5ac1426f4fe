"""The engine session: the one way recon's stages run the SQL files in ``sql/``.

Each file holds one query and starts with a header::

    -- name: users_dedupe
    -- purpose: one line saying what the query answers
    -- inputs: received_users, received_groups
    -- params: $cycle, $since            (or "none")

A stage opens a :class:`Session` (:func:`open_session`), runs named statements over inputs
it binds (Parquet files of the store's layout, earlier results, small Arrow tables), fetches
small results as rows or Arrow, and writes a result table to a Parquet file. Results are
opaque :class:`Table` handles of their session; nothing outside ``recon/engine/`` sees an
engine's own objects, so a second engine (Spark) implements the same :class:`Session`.

The trap this interface closes: a result may be lazy, and must never read inputs by a name a
later statement binds again. Every statement run binds its inputs under names of its own, so
``run("q", inputs={"t": a})`` keeps returning the rows of ``a`` after ``run("q", inputs={"t":
b})``. Fingerprints go through the registered function ``fp64(x[, y])`` (64-bit on every
engine), never ``hash()``, which is 64-bit in DuckDB and 32-bit in Spark.

:func:`load_sql` checks each file when it is loaded: a body that uses an undeclared
parameter, declares one it never uses, or declares an input it never reads fails.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import polars as pl
import pyarrow as pa

from recon.errors import SqlFileError
from recon.findings import SEVERITY_RANKS, severity_ranks

if TYPE_CHECKING:
    from recon.config import EngineConfig

__all__ = [
    "FINGERPRINT",
    "FINGERPRINT_ARITY",
    "Call",
    "Input",
    "Parquet",
    "Session",
    "SqlFile",
    "Table",
    "check_call",
    "load_sql",
    "open_session",
    "prepared_call",
    "sql_dir",
    "with_standing_inputs",
]

FINGERPRINT = "fp64"
"""The name under which every engine registers its 64-bit fingerprint function: ``fp64(x, ...)``
(1 to :data:`FINGERPRINT_ARITY` arguments) gives a 64-bit integer, equal for equal arguments; a
NULL argument gives a non-NULL constant (DuckDB's ``hash`` behaves so), so SQL turns absent ids
into distinct values first. SQL compares, XORs and sums prints; no finding shows one."""
FINGERPRINT_ARITY = 16

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_STRING_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)


def sql_dir() -> Path:
    """The folder holding the SQL files: ``recon/sql`` in a wheel, ``sql/`` in a checkout."""
    packaged = Path(str(resources.files("recon"))) / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "sql"


@dataclass(frozen=True)
class SqlFile:
    """A parsed SQL file: its declared inputs and parameters and the query."""

    name: str
    purpose: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    query: str
    path: Path


@functools.cache
def load_sql(name: str) -> SqlFile:
    """Load and check ``sql/<name>.sql``; raises :class:`SqlFileError` naming the problem."""
    if not _NAME.fullmatch(name):
        raise SqlFileError(f"invalid SQL file name {name!r}")
    path = sql_dir() / f"{name}.sql"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SqlFileError(f"no SQL file {path}") from exc
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"--\s*(name|purpose|inputs|params):\s*(.*)$", line.strip())
        if match:
            header[match.group(1)] = match.group(2).strip()
    for key in ("name", "purpose", "inputs", "params"):
        if key not in header:
            raise SqlFileError(f"{path}: header has no '-- {key}:' line")
    if header["name"] != name:
        raise SqlFileError(f"{path}: header names {header['name']!r}, file is {name!r}")
    inputs = _split_list(header["inputs"])
    declared = tuple(p.lstrip("$") for p in _split_list(header["params"]))
    body = _STRING_OR_COMMENT.sub(" ", text)
    used = set(_PARAM.findall(body))
    undeclared = sorted(used - set(declared))
    if undeclared:
        raise SqlFileError(f"{path}: uses undeclared parameter(s) {', '.join('$' + p for p in undeclared)}")
    unused = sorted(set(declared) - used)
    if unused:
        raise SqlFileError(f"{path}: declares unused parameter(s) {', '.join('$' + p for p in unused)}")
    for relation in inputs:
        if not re.search(rf"\b{re.escape(relation)}\b", body):
            raise SqlFileError(f"{path}: declares input {relation!r} that the query never reads")
    return SqlFile(name, header["purpose"], inputs, declared, text, path)


def _split_list(value: str) -> tuple[str, ...]:
    if value.lower() in ("", "none", "-"):
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def with_standing_inputs(sql: SqlFile, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` plus the inputs recon provides itself that ``sql`` declares and the caller left
    out (``severity_ranks``, :func:`recon.findings.severity_ranks`). Every engine calls it before
    :func:`check_call`."""
    standing = {SEVERITY_RANKS: severity_ranks}
    return {**inputs, **{r: standing[r]() for r in sql.inputs if r in standing and r not in inputs}}


def prepared_call(
    name: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Any] | None
) -> tuple[SqlFile, dict[str, Any], dict[str, Any]]:
    """``sql/<name>.sql`` with its parameters and inputs (standing inputs added) checked against
    its header: what every engine's :meth:`Session.run` starts with."""
    sql = load_sql(name)
    given = dict(params or {})
    bound = with_standing_inputs(sql, inputs or {})
    check_call(sql, given, bound)
    return sql, given, bound


def check_call(sql: SqlFile, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    """Raise :class:`SqlFileError` unless ``params`` and ``inputs`` name exactly what ``sql``
    declares (parameters without the ``$``). Every engine calls it before running a file."""
    missing = [p for p in sql.params if p not in params]
    extra = [p for p in params if p not in sql.params]
    if missing or extra:
        raise SqlFileError(
            f"{sql.path.name}: parameters given do not match the header"
            + (f"; missing {', '.join('$' + p for p in missing)}" if missing else "")
            + (f"; not declared {', '.join('$' + p for p in extra)}" if extra else "")
        )
    missing_inputs = [r for r in sql.inputs if r not in inputs]
    extra_inputs = [r for r in inputs if r not in sql.inputs]
    if missing_inputs or extra_inputs:
        raise SqlFileError(
            f"{sql.path.name}: inputs given do not match the header"
            + (f"; missing {', '.join(missing_inputs)}" if missing_inputs else "")
            + (f"; not declared {', '.join(extra_inputs)}" if extra_inputs else "")
        )


@dataclass(frozen=True)
class Parquet:
    """Parquet files of the store's layout to bind as an input: a path, a glob, or several.

    With ``hive_types`` the files are read as a Hive-partitioned layout (``key=value`` folders)
    and each partition column named there is read with that SQL type (``VARCHAR``, ``BIGINT``
    ...); the others are not read. Without it, only the columns inside the files are read.
    """

    paths: Sequence[str | Path]
    hive_partitioning: bool = False
    hive_types: Mapping[str, str] = field(default_factory=dict)
    row_numbers: bool = False
    """Add ``file_row_number`` (BIGINT): each row's position in its file, from 0."""

    @classmethod
    def of(
        cls, *paths: str | Path, hive_types: Mapping[str, str] | None = None, row_numbers: bool = False
    ) -> Parquet:
        """Shorthand: ``Parquet.of(path)``; with ``hive_types`` the partition columns are read too."""
        return cls(
            tuple(paths),
            hive_partitioning=hive_types is not None,
            hive_types=hive_types or {},
            row_numbers=row_numbers,
        )


class Table(ABC):
    """An opaque handle on a table of one :class:`Session`: a statement's result or a bound input.

    It may be lazy (computed when read); it never changes rows because of anything run later on
    its session. Pass it back to its own session only; it is invalid once the session closes.
    """

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """The column names, in order."""


Input: TypeAlias = Table | Parquet | pa.Table | pl.DataFrame
"""What :meth:`Session.run` accepts as an input: a table of the same session, Parquet files of the
layout, or a small table held in Python (Arrow or polars), which the engine copies in."""


Call: TypeAlias = tuple[str, Mapping[str, Any] | None, Mapping[str, Input]]
"""One statement for :meth:`Session.run_kept_at_once`: the ``sql/`` file's name, its parameters
and its inputs, as :meth:`Session.run` takes them."""
First = TypeVar("First")
Second = TypeVar("Second")


class Session(ABC):
    """One engine session: binds inputs, runs ``sql/`` statements, fetches and writes results.

    Implementations: :class:`recon.engine.duckdb.DuckDBSession` (the default, embedded). A
    session is a context manager; closing it frees its tables and spill files.
    """

    @abstractmethod
    def run(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Input] | None = None,
        *,
        keep: bool = False,
    ) -> Table:
        """Run ``sql/<name>.sql`` with ``params`` over ``inputs``; returns its result.

        ``inputs`` must name exactly the file's declared inputs and ``params`` exactly its declared
        parameters (without the ``$``; values are bound, never spliced), else :class:`SqlFileError`.
        The result may be lazy; with ``keep`` it is computed now and kept (in memory, spilling
        beyond the memory limit), for a result that several later statements read.
        """

    def run_kept_at_once(self, calls: Sequence[Call]) -> list[Table]:
        """Each call (``name``, ``params``, ``inputs``) run and kept as ``run(..., keep=True)`` does,
        its tables in the order of ``calls``; an engine may run them at the same time. The caller
        decides that their results and working memory fit in the engine's memory together. Inputs
        that are tables must be kept ones. This default runs them one after the other."""
        return [self.run(name, params, inputs, keep=True) for name, params, inputs in calls]

    def both_at_once(
        self, first: Callable[[Session], First], second: Callable[[Session], Second]
    ) -> tuple[First, Second]:
        """``first(self)`` and ``second(s)``, for two independent series of statements; an engine
        may run them at the same time, ``second`` on a session ``s`` of its own (the same engine and
        settings, not the same tables: ``second`` reads no table of this session, only files and
        frames). What ``second`` returns is given back with its kept tables (alone, or in a tuple)
        as tables of this session; it returns no lazy one. The caller decides both fit in memory
        together. This default runs them one after the other on this session."""
        return first(self), second(self)

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Input]) -> Table:
        """Run SQL text that recon generates (the SCIM filter compiler's ``SELECT id ... WHERE``)
        over ``inputs`` bound under the names the text reads. Stages run ``sql/`` files with
        :meth:`run`; this is only for text that has no file."""

    @abstractmethod
    def keep(self, table: Table) -> Table:
        """``table`` computed now and kept; returns a handle on the kept rows."""

    @abstractmethod
    def release(self, table: Table) -> None:
        """Free ``table``, kept by :meth:`keep` or ``run(keep=True)``, that no later statement reads
        (its memory, or its spill files, go back to the engine); ``table`` and any lazy result over
        it are invalid afterwards. A table that was not kept is left as it is."""

    @abstractmethod
    def bind(self, source: Input) -> Table:
        """A handle on ``source`` (Parquet files, or an Arrow or polars table copied in)."""

    @abstractmethod
    def union_all(self, first: Table, *more: Table) -> Table:
        """The rows of several tables with the same columns, by position (SQL ``UNION ALL``)."""

    @abstractmethod
    def count(self, table: Table) -> int:
        """The number of rows of ``table`` (of any size: counted by the engine, nothing fetched)."""

    @abstractmethod
    def rows(self, table: Table) -> list[dict[str, Any]]:
        """Every row of a small ``table`` as a dict by column name (never for a large table)."""

    @abstractmethod
    def tuples(self, table: Table) -> list[tuple[Any, ...]]:
        """Every row of a small ``table`` as a tuple in column order."""

    @abstractmethod
    def arrow(self, table: Table) -> pa.Table:
        """A small ``table`` as an Arrow table (timestamps labelled UTC)."""

    @abstractmethod
    def polars(self, table: Table) -> pl.DataFrame:
        """A small ``table`` as a polars frame (timestamps labelled UTC)."""

    @abstractmethod
    def batches(self, table: Table, rows: int) -> Iterator[pa.RecordBatch]:
        """``table``'s rows streamed in Arrow batches of at most ``rows`` (bounded driver memory)."""

    @abstractmethod
    def write_parquet(self, table: Table, path: Path, schema: pa.Schema) -> int:
        """Write ``table`` to the single Parquet file ``path`` with exactly ``schema``; returns its rows.

        The same rows in the same order give the same bytes (fixed row groups, zstd), whatever the
        engine's parallelism; the caller publishes ``path`` (it is written inside a staging folder).
        """

    @abstractmethod
    def worker(self) -> Session:
        """A session for another thread on the same engine (its settings, not its tables): a
        statement that reads only files can run there while this session runs another.
        Closing it does not close this session."""

    @property
    @abstractmethod
    def errors(self) -> tuple[type[Exception], ...]:
        """The exceptions the engine raises when a statement fails on its data (a truncated or
        foreign Parquet file, ...), for a stage that turns them into one line naming its input."""

    @abstractmethod
    def memory_limit_bytes(self) -> float:
        """The engine's memory budget for this session in bytes; infinite when it has none."""

    @abstractmethod
    def close(self) -> None:
        """Free the session's tables; its :class:`Table` handles are invalid afterwards."""

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_session(
    *,
    temp_dir: Path | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    engine: EngineConfig | None = None,
    buffer_default: str | None = None,
) -> Session:
    """A session of the default engine (DuckDB), set up the way recon needs it.

    Spill files go to ``temp_dir`` (recon passes ``<data>/.tmp``); ``memory_limit`` defaults to
    ``$RECON_MEMORY_LIMIT`` when set (a bound on the whole process), else ``buffer_default`` (a
    stage's own DuckDB buffer size), else the engine's own default; ``threads`` to the cores.
    With ``engine`` named ``spark`` (``[engine]``, ``--engine``), a Spark session instead
    (:mod:`recon.engine.spark`; the three DuckDB settings do not apply to it).
    """
    if engine is not None and engine.name == "spark":
        from recon.engine.spark import SparkEngineSession

        return SparkEngineSession(engine=engine)
    from recon.engine.duckdb import DuckDBSession

    return DuckDBSession(
        temp_dir=temp_dir, memory_limit=memory_limit, threads=threads, buffer_default=buffer_default
    )
