"""DuckDB connections and the runner of the SQL files in ``sql/``.

Each file holds one query and starts with a header::

    -- name: users_dedupe
    -- purpose: one line saying what the query answers
    -- inputs: received_users, received_groups
    -- params: $cycle, $since            (or "none")

:func:`run_sql` binds the named inputs as views, checks that the parameters given are
exactly those declared, and returns a lazy DuckDB relation. A file whose body uses an
undeclared parameter, or declares one it never uses, fails when it is loaded.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from recon.errors import SqlFileError

__all__ = [
    "Parquet",
    "SqlFile",
    "connect",
    "cursor",
    "load_sql",
    "memory_limit_bytes",
    "run_sql",
    "sql_dir",
]

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_STRING_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)


def sql_dir() -> Path:
    """The folder holding the SQL files: ``recon/sql`` in a wheel, ``sql/`` in a checkout."""
    packaged = Path(str(resources.files("recon"))) / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "sql"


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


@dataclass(frozen=True)
class Parquet:
    """Parquet files to bind as an input view (a path, a glob, or several)."""

    paths: Sequence[str | Path]
    hive_partitioning: bool = False
    hive_types: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *paths: str | Path, hive_types: Mapping[str, str] | None = None) -> Parquet:
        """Shorthand: ``Parquet.of(path)``; with ``hive_types`` the partition columns are read too."""
        return cls(tuple(paths), hive_partitioning=hive_types is not None, hive_types=hive_types or {})


Relation = Parquet | duckdb.DuckDBPyRelation | Any  # Any: a polars or Arrow frame


def connect(
    *,
    temp_dir: Path | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up the way recon needs it.

    Time zone is UTC (so timestamps come back labelled UTC); spill files go to
    ``temp_dir`` (recon passes ``<data>/.tmp``); ``memory_limit`` defaults to
    ``$RECON_MEMORY_LIMIT`` when set, else DuckDB's own default.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(temp_dir)])
    limit = memory_limit or os.environ.get("RECON_MEMORY_LIMIT")
    if limit:
        con.execute("SET memory_limit = ?", [limit])
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second connection to ``con``'s database (for a query on another thread), set up like
    :func:`connect` (the time zone is per connection; memory and spill settings are shared)."""
    other = con.cursor()
    other.execute("SET TimeZone='UTC'")
    return other


_SIZE_UNITS = {"byte": 1, "bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory limit on ``con`` in bytes, read from its rendering ("3.7 GiB"); infinite
    when it cannot be understood."""
    rows = con.execute("SELECT current_setting('memory_limit')").fetchall()  # all: 2.x needs it
    number, _, unit = str(rows[0][0] if rows else "").strip().partition(" ")
    try:
        return float(number) * _SIZE_UNITS[unit]
    except (KeyError, ValueError):
        return float("inf")


def bind(con: duckdb.DuckDBPyConnection, name: str, relation: Relation) -> None:
    """Make ``relation`` readable as the view ``name`` on ``con``."""
    if isinstance(relation, Parquet):
        con.sql(_parquet_scan(relation)).create_view(name, replace=True)
    elif isinstance(relation, duckdb.DuckDBPyRelation):
        relation.create_view(name, replace=True)
    else:
        con.register(name, relation)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_scan(relation: Parquet) -> str:
    """A read_parquet() query over the files; partition columns typed as declared, else text.

    The DuckDB Python API has no ``hive_types`` argument, so the scan is spelled in SQL;
    every value is quoted, and the paths come from the store, not from user SQL.
    """
    files = "[" + ", ".join(_quote(str(p)) for p in relation.paths) + "]"
    options = ""
    if relation.hive_partitioning:
        types = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in relation.hive_types.items())
        options = ", hive_partitioning = true, hive_types_autocast = false, union_by_name = true"
        if types:
            options += f", hive_types = {{{types}}}"
    return f"SELECT * FROM read_parquet({files}{options})"


def run_sql(
    name: str,
    params: Mapping[str, Any] | None,
    relations: Mapping[str, Relation],
    *,
    con: duckdb.DuckDBPyConnection,
) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` over ``relations`` with ``params``; returns a lazy relation.

    ``relations`` must name exactly the file's declared inputs and ``params`` exactly
    its declared parameters (without the ``$``).
    """
    sql = load_sql(name)
    given = dict(params or {})
    missing = [p for p in sql.params if p not in given]
    extra = [p for p in given if p not in sql.params]
    if missing or extra:
        raise SqlFileError(
            f"{sql.path.name}: parameters given do not match the header"
            + (f"; missing {', '.join('$' + p for p in missing)}" if missing else "")
            + (f"; not declared {', '.join('$' + p for p in extra)}" if extra else "")
        )
    missing_inputs = [r for r in sql.inputs if r not in relations]
    extra_inputs = [r for r in relations if r not in sql.inputs]
    if missing_inputs or extra_inputs:
        raise SqlFileError(
            f"{sql.path.name}: inputs given do not match the header"
            + (f"; missing {', '.join(missing_inputs)}" if missing_inputs else "")
            + (f"; not declared {', '.join(extra_inputs)}" if extra_inputs else "")
        )
    for relation_name, relation in relations.items():
        bind(con, relation_name, relation)
    if given:
        return con.sql(sql.query, params=given)
    return con.sql(sql.query)
