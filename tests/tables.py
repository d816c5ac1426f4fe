"""Tables written inline as pipe-separated text: the one dialect of the given/expected tests.

Each non-blank line is a row of cells separated by ``|`` (outer pipes optional); with a schema
or column types, the first line names the columns and columns it leaves out are NULL. A cell is
``null`` for NULL, ``""`` for the empty string, ``true``/``false`` for booleans, JSON for list
and struct columns, ISO 8601 for timestamps, a number for numeric columns; anything else is the
text itself. :func:`run` runs a ``sql/`` file over such tables; :func:`rows` and
:func:`ordered` compare results without depending on row order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from recon.engine.duckdb import DuckDBSession, DuckDBTable, connect

__all__ = ["cells", "frame", "ordered", "parse", "rows", "run", "value", "values"]


def cells(text: str) -> list[list[str]]:
    """The stripped cells of each non-blank line."""
    out = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("|"):
            line = line[1:]
        if line.endswith("|"):
            line = line[:-1]
        out.append([cell.strip() for cell in line.split("|")])
    return out


def value(text: str, kind: pa.DataType | None = None) -> Any:
    """One cell as a Python value of ``kind`` (without a kind: None, "", a boolean or the text)."""
    if text == "null":
        return None
    if text == '""':
        return ""
    if kind is None:
        return {"true": True, "false": False}.get(text, text)
    if pa.types.is_boolean(kind):
        return {"true": True, "false": False}[text]
    if pa.types.is_integer(kind):
        return int(text)
    if pa.types.is_floating(kind):
        return float(text)
    if pa.types.is_list(kind) or pa.types.is_struct(kind):
        return json.loads(text)
    if pa.types.is_timestamp(kind):
        return datetime.fromisoformat(text)
    return text


def values(text: str) -> list[list[Any]]:
    """Rows without a header line, each cell read by :func:`value` without a kind."""
    return [[value(cell) for cell in line] for line in cells(text)]


def parse(text: str, schema: pa.Schema) -> pa.Table:
    """Rows of ``text`` (first line: column names) as an Arrow table of ``schema``."""
    header, *lines = cells(text)
    rows = []
    for line in lines:
        given = {name: value(cell, schema.field(name).type) for name, cell in zip(header, line, strict=True)}
        rows.append({field.name: given.get(field.name) for field in schema})
    return pa.Table.from_pylist(rows, schema=schema)


_POLARS_TO_ARROW: dict[Any, pa.DataType] = {
    pl.String: pa.string(),
    pl.Boolean: pa.bool_(),
    pl.Int32: pa.int32(),
    pl.Int64: pa.int64(),
    pl.Float64: pa.float64(),
}


def frame(text: str, types: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Rows of ``text`` (first line: column names) as a polars frame; text unless ``types`` says."""
    header = cells(text)[0]
    schema = pa.schema([(name, _POLARS_TO_ARROW[(types or {}).get(name, pl.String)]) for name in header])
    converted = pl.from_arrow(parse(text, schema))
    assert isinstance(converted, pl.DataFrame)
    return converted


def run(
    name: str,
    params: dict[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    **tables: pa.Table | duckdb.DuckDBPyRelation,
) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` over the given tables (bound under their keyword names) on a DuckDB
    session over ``con``; returns the result's relation (DuckDB's API reads it in the tests)."""
    session = DuckDBSession(con=con or connect())
    inputs = {
        key: DuckDBTable(session, value) if isinstance(value, duckdb.DuckDBPyRelation) else value
        for key, value in tables.items()
    }
    result = session.run(name, params, inputs)
    assert isinstance(result, DuckDBTable)
    return result.relation


def rows(relation: duckdb.DuckDBPyRelation, *columns: str) -> list[tuple[Any, ...]]:
    """The chosen columns of ``relation`` as sorted tuples (NULLs sort first)."""
    selected = relation.select(*columns) if columns else relation
    return sorted(selected.fetchall(), key=lambda row: tuple((v is not None, v) for v in row))


def ordered(expected: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``expected`` in the order :func:`rows` returns (so a test can list rows as it reads best)."""
    return sorted(expected, key=lambda row: tuple((v is not None, v) for v in row))
