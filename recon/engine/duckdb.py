"""The DuckDB engine: :class:`DuckDBSession`, recon's default, embedded :class:`~recon.engine.Session`.

A DuckDB relation is lazy and reads views by name when it runs, so a result bound to a view
that a later statement replaces would change. Here each statement run binds its inputs as
views with names of their own (``_in<n>_<input>``) and reads them through a ``WITH <input> AS
NOT MATERIALIZED (SELECT * FROM _in<n>_<input>)`` prefix: the SQL file keeps its input names,
DuckDB plans the same query as over the views themselves, and no later run can touch them.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import duckdb
import polars as pl
import pyarrow as pa

from recon.engine import (
    FINGERPRINT,
    FINGERPRINT_ARITY,
    Call,
    First,
    Input,
    Parquet,
    Second,
    Session,
    Table,
    prepared_call,
)
from recon.errors import ConfigError
from recon.row_groups import ROW_GROUP_ROWS, write_batches

__all__ = [
    "ARROW_ALLOWANCE",
    "OUTSIDE_POOL",
    "DuckDBSession",
    "DuckDBTable",
    "connect",
    "duckdb_share",
    "memory_limit_bytes",
    "size_bytes",
]

_NAMES = itertools.count(1)
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_WITH = re.compile(r"WITH(?:\s+RECURSIVE)?\b", re.I)


def connect(
    *,
    temp_dir: Path | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    buffer_default: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up the way recon needs it.

    Time zone is UTC (so timestamps come back labelled UTC); spill files go to
    ``temp_dir`` (recon passes ``<data>/.tmp``); ``memory_limit`` defaults to
    ``$RECON_MEMORY_LIMIT`` when set, else DuckDB's own default; the fingerprint
    function ``fp64`` is registered (``hash``: 64-bit).

    ``memory_limit`` bounds the whole process (peak RSS, as a user reads it), not only DuckDB's
    buffer pool: DuckDB gets :func:`duckdb_share` of it, the rest is left for Python, Arrow and
    DuckDB's allocations outside its pool. ``buffer_default`` is a stage's own size for DuckDB's
    buffer pool when the user set no limit (recon's built-in defaults, e.g. extraction's 1GB): it
    is DuckDB's ``memory_limit`` as it is, not a bound on the process, so the defaults that
    stages were measured with keep their meaning.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    from_env = os.environ.get("RECON_MEMORY_LIMIT")
    limit = memory_limit or from_env
    if limit:
        where = "RECON_MEMORY_LIMIT" if limit == from_env else "memory limit"
        if limit.strip().startswith("-"):  # DuckDB reads a negative size as "no limit"
            con.close()
            raise ConfigError(f"{where}={limit!r} is not a memory size (use e.g. 2GB or 512MB)")
        try:
            con.execute("SET memory_limit = ?", [limit])  # DuckDB checks the text
        except duckdb.Error as exc:
            con.close()
            raise ConfigError(f"{where}={limit!r} is not a memory size (use e.g. 2GB or 512MB)") from exc
        process = size_bytes(limit)
        if process is None:  # a spelling DuckDB reads and we do not: its own reading (1 decimal)
            process = int(memory_limit_bytes(con))
        con.execute(f"SET memory_limit = '{duckdb_share(process, _resident_bytes())}B'")
    elif buffer_default:
        con.execute("SET memory_limit = ?", [buffer_default])
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # in the database, not the temp schema: cursors (other connections to it) see it too
    con.execute(f"CREATE OR REPLACE MACRO {FINGERPRINT}{_FP64_OVERLOADS}")
    return con


# DuckDB macros are not variadic: one overload per arity, each exactly DuckDB's 64-bit hash()
_FP64_OVERLOADS = ", ".join(
    "({args}) AS hash({args})".format(args=", ".join(f"a{i}" for i in range(n)))
    for n in range(1, FINGERPRINT_ARITY + 1)
)

_SIZE_UNITS = {"byte": 1, "bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}
# the units DuckDB reads in a memory size (case-insensitive), as it reads them
_LIMIT_UNITS = {
    "": None,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_LIMIT = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([a-z]*)\s*", re.I)

ARROW_ALLOWANCE = 128 * 2**20
"""Bytes of a memory limit kept for what Python holds besides the interpreter and libraries
already loaded: Arrow batches in flight (the findings writer holds one row group of 16,384
rows), small results fetched as rows, the Parquet writer's buffers."""
OUTSIDE_POOL = 0.10
"""The share of a memory limit kept for DuckDB's allocations outside its buffer pool (which is
all that DuckDB's ``memory_limit`` bounds) and the allocator's slack: measured 5-6% at 10M users
spilling under 3.5-4 GB (benchmarks/results/reconcile.md)."""


def size_bytes(text: str) -> int | None:
    """A memory size as DuckDB reads it ("4GB" = 4 * 10**9, "4GiB" = 4 * 2**30, "512 mb") in
    bytes; None for a spelling it does not cover (a percentage of RAM, a bare number)."""
    match = _LIMIT.fullmatch(text)
    unit = _LIMIT_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        return None
    return int(float(match.group(1)) * unit)


def duckdb_share(process_limit: int, resident: int) -> int:
    """DuckDB's ``memory_limit`` (bytes) when the whole process must stay within ``process_limit``
    bytes of RSS: the limit minus what the process holds now (``resident``: the interpreter and
    libraries), minus :data:`ARROW_ALLOWANCE` and :data:`OUTSIDE_POOL`; never below a quarter of
    the limit (a limit that small cannot be honoured: DuckDB then gets that quarter)."""
    share = process_limit - resident - ARROW_ALLOWANCE - int(process_limit * OUTSIDE_POOL)
    return max(share, process_limit // 4)


def _resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc/self/statm``), else its peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory limit on ``con`` in bytes, read from its rendering ("3.7 GiB"); infinite
    when it cannot be understood."""
    rows = con.execute("SELECT current_setting('memory_limit')").fetchall()  # all: 2.x needs it
    number, _, unit = str(rows[0][0] if rows else "").strip().partition(" ")
    try:
        return float(number) * _SIZE_UNITS[unit]
    except (KeyError, ValueError):
        return float("inf")


class DuckDBTable(Table):
    """A DuckDB relation of one :class:`DuckDBSession`."""

    def __init__(
        self, session: DuckDBSession, relation: duckdb.DuckDBPyRelation, kept: str | None = None
    ) -> None:
        self.session = session
        self.relation = relation
        self.kept = kept  # the name of the table holding the rows, when kept

    @property
    def columns(self) -> list[str]:
        return list(self.relation.columns)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_scan(files: Parquet) -> str:
    """A read_parquet() query over the files; partition columns typed as declared, else text.

    The DuckDB Python API has no ``hive_types`` argument, so the scan is spelled in SQL;
    every value is quoted, and the paths come from the store, not from user SQL.
    """
    paths = "[" + ", ".join(_quote(str(p)) for p in files.paths) + "]"
    options = ", file_row_number = true" if files.row_numbers else ""
    if files.hive_partitioning:
        types = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in files.hive_types.items())
        options += ", hive_partitioning = true, hive_types_autocast = false, union_by_name = true"
        if types:
            options += f", hive_types = {{{types}}}"
    return f"SELECT * FROM read_parquet({paths}{options})"


def with_inputs(sql: str, views: Mapping[str, str]) -> str:
    """``sql`` reading each input name from its view: a ``WITH name AS NOT MATERIALIZED (SELECT *
    FROM view)`` prefix, merged into the query's own ``WITH [RECURSIVE]`` when it has one."""
    if not views:
        return sql
    ctes = ", ".join(f"{name} AS NOT MATERIALIZED (SELECT * FROM {view})" for name, view in views.items())
    start = _LEADING.match(sql)
    at = start.end() if start else 0
    own = _WITH.match(sql, at)
    if own:
        return f"{sql[: own.end()]} {ctes}, {sql[own.end() :]}"
    return f"{sql[:at]}WITH {ctes} {sql[at:]}"


class DuckDBSession(Session):
    """A :class:`~recon.engine.Session` on one in-process DuckDB connection (see the module)."""

    def __init__(
        self,
        *,
        temp_dir: Path | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
        con: duckdb.DuckDBPyConnection | None = None,
        buffer_default: str | None = None,
    ) -> None:
        self.con = con or connect(
            temp_dir=temp_dir, memory_limit=memory_limit, threads=threads, buffer_default=buffer_default
        )
        self._counter = _NAMES  # one count for every session: a worker's cursor shares the catalog

    def _own(self, table: Table) -> duckdb.DuckDBPyRelation:
        if not isinstance(table, DuckDBTable) or table.session is not self:
            raise ValueError("a table of another session")
        return table.relation

    def _view(self, label: str, source: Input) -> str:
        """Bind ``source`` as a view under a name no other binding uses; returns the name."""
        view = f"_in{next(self._counter)}_{label}"
        if isinstance(source, Table):
            self._own(source).create_view(view, replace=False)
        elif isinstance(source, Parquet):
            self.con.sql(_parquet_scan(source)).create_view(view, replace=False)
        elif isinstance(source, pa.Table | pl.DataFrame):
            self.con.register(view, source)
        else:
            raise TypeError(f"cannot bind {type(source).__name__} as input {label!r}")
        return view

    def _run_text(self, sql: str, params: Mapping[str, Any], inputs: Mapping[str, Input]) -> Table:
        views = {name: self._view(name, source) for name, source in inputs.items()}
        text = with_inputs(sql, views)
        relation = self.con.sql(text, params=dict(params)) if params else self.con.sql(text)
        return DuckDBTable(self, relation)

    def run(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Input] | None = None,
        *,
        keep: bool = False,
    ) -> Table:
        sql, given, bound = prepared_call(name, params, inputs)
        result = self._run_text(sql.query, given, bound)
        return self._keep(result, name) if keep else result

    def query(self, sql: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Input]) -> Table:
        return self._run_text(sql, dict(params or {}), inputs)

    def run_kept_at_once(self, calls: Sequence[Call]) -> list[Table]:
        """The calls at the same time, each on a cursor of its own (the same database) and one
        DuckDB thread: two statements on one thread each spend less CPU than one after the other
        on two threads (at 1M users the two membership prints 2.1-2.3 against 2.6-2.7 CPU s:
        benchmarks/results/reconcile.md, rec24), and take no longer. Only when
        :meth:`_lanes_pay` for them; else one after the other on all threads."""
        if not self._lanes_pay(len(calls)):
            return super().run_kept_at_once(calls)
        with self._lanes(len(calls)) as lanes, ThreadPoolExecutor(max_workers=len(calls)) as pool:
            pending = [
                pool.submit(lane.run, name, params, lane._adopt_inputs(self, inputs), keep=True)
                for lane, (name, params, inputs) in zip(lanes, calls, strict=True)
            ]
            kept = [future.result() for future in pending]
        return [self._adopt(table) for table in kept]

    def both_at_once(
        self, first: Callable[[Session], First], second: Callable[[Session], Second]
    ) -> tuple[First, Second]:
        """``second`` on a cursor of its own in another thread while ``first`` runs here, the
        database on one thread, when :meth:`_lanes_pay` for two (as :meth:`run_kept_at_once`: one
        thread each spends less CPU on high-cardinality aggregates than two each, and on an idle
        2-core machine the two series overlap); else one after the other on all threads."""
        if not self._lanes_pay(2):
            return super().both_at_once(first, second)
        with self._lanes(1) as (lane,), ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(second, lane)
            try:
                done = first(self)
            finally:
                wait([pending])  # never leave the other statement running on a closing cursor
            other = pending.result()

        def adopt(item: Any) -> Any:
            return self._adopt(item) if isinstance(item, DuckDBTable) and item.session is lane else item

        if isinstance(other, tuple):  # kept tables alone, or in a tuple or named tuple
            make = getattr(type(other), "_make", tuple)  # a named tuple stays one
            return done, cast(Second, make([adopt(item) for item in other]))
        return done, cast(Second, adopt(other))

    def _threads(self) -> int:
        return int(self.con.sql("SELECT current_setting('threads')").fetchall()[0][0])

    def _lanes_pay(self, statements: int) -> bool:
        """Whether ``statements`` run at once, one DuckDB thread each, beat one after the other on
        all threads: only when the engine has no more threads than statements (with more cores,
        one thread each would leave cores idle that each statement alone would use)."""
        return 2 <= self._threads() <= statements

    @contextmanager
    def _lanes(self, count: int) -> Iterator[list[DuckDBSession]]:
        """``count`` cursors of this database, the database on one thread while they are open (its
        thread count set back and the cursors closed afterwards)."""
        threads = self._threads()
        lanes = [self._cursor() for _ in range(count)]
        try:
            self.con.execute("SET threads = 1")
            yield lanes
        finally:
            self.con.execute(f"SET threads = {threads}")
            for lane in lanes:
                lane.close()

    def _adopt(self, table: Table) -> DuckDBTable:
        """A kept table of one of this session's cursors as a table of this session."""
        assert isinstance(table, DuckDBTable)
        if table.kept is None:
            raise ValueError("a lazy table cannot move to another cursor: keep it")
        return DuckDBTable(self, self.con.table(table.kept), kept=table.kept)

    def _cursor(self) -> DuckDBSession:
        cursor = self.con.cursor()  # the same database: its tables, memory limit and spill folder
        cursor.execute("SET TimeZone='UTC'")  # a client setting: a cursor starts from the machine's zone
        return DuckDBSession(con=cursor)

    def _adopt_inputs(self, owner: DuckDBSession, inputs: Mapping[str, Input]) -> dict[str, Input]:
        """``owner``'s inputs for this session: its kept tables by name (a lazy table cannot move)."""
        adopted: dict[str, Input] = {}
        for label, source in inputs.items():
            if isinstance(source, Table):
                owner._own(source)
                assert isinstance(source, DuckDBTable)
                if source.kept is None:
                    raise ValueError(f"input {label!r} is not a kept table: it cannot run on another cursor")
                adopted[label] = DuckDBTable(self, self.con.table(source.kept), kept=None)
            else:
                adopted[label] = source
        return adopted

    def keep(self, table: Table) -> Table:
        return self._keep(table, "kept")

    def _keep(self, table: Table, label: str) -> Table:
        name = f"_{label}_{next(self._counter)}"
        self._own(table).to_table(name)
        return DuckDBTable(self, self.con.table(name), kept=name)

    def release(self, table: Table) -> None:
        self._own(table)
        assert isinstance(table, DuckDBTable)
        if table.kept is not None:
            self.con.execute(f'DROP TABLE IF EXISTS "{table.kept}"')
            table.kept = None

    def bind(self, source: Input) -> Table:
        if isinstance(source, Table):
            self._own(source)
            return source
        if isinstance(source, pa.Table):
            return DuckDBTable(self, self.con.from_arrow(source))
        return DuckDBTable(self, self.con.table(self._view("bound", source)))

    def union_all(self, first: Table, *more: Table) -> Table:
        relation = self._own(first)
        for other in more:
            relation = relation.union(self._own(other))
        return DuckDBTable(self, relation)

    def count(self, table: Table) -> int:
        return int(self._own(table).aggregate("count(*)").fetchall()[0][0])

    def rows(self, table: Table) -> list[dict[str, Any]]:
        relation = self._own(table)
        columns = relation.columns
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]

    def tuples(self, table: Table) -> list[tuple[Any, ...]]:
        return self._own(table).fetchall()

    def arrow(self, table: Table) -> pa.Table:
        return self._own(table).to_arrow_table()

    def polars(self, table: Table) -> pl.DataFrame:
        frame: pl.DataFrame = self._own(table).pl()
        return frame

    def batches(self, table: Table, rows: int) -> Iterator[pa.RecordBatch]:
        yield from self._own(table).to_arrow_reader(batch_size=rows)

    def write_parquet(self, table: Table, path: Path, schema: pa.Schema) -> int:
        return write_batches(self.batches(table, ROW_GROUP_ROWS), path, schema)

    def worker(self) -> Session:
        cursor = self.con.cursor()  # the same database, so its memory limit, spill folder and threads
        cursor.execute("SET TimeZone='UTC'")  # a client setting: a cursor starts from the machine's zone
        return DuckDBSession(con=cursor)

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (duckdb.Error,)

    def memory_limit_bytes(self) -> float:
        return memory_limit_bytes(self.con)

    def close(self) -> None:
        self.con.close()
