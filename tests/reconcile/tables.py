"""Given/expected tables written inline as pipe-separated text, and a runner for sql/ files.

A cell is ``null`` for NULL, ``""`` for the empty string, JSON for list/struct columns,
``true``/``false`` for booleans, ISO text for timestamps; anything else is the text itself.
Columns a table leaves out are NULL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from recon.engine.duckdb import DuckDBSession, DuckDBTable, connect
from recon.schemas import GROUPS, MEMBERSHIPS, USERS

__all__ = ["CORRELATION", "GROUPS", "KEYS", "MEMBERSHIPS", "NAMES", "USERS", "parse", "run"]

CORRELATION = pa.schema(
    [("rule", pa.int32()), ("source_id", pa.string()), ("target_id", pa.string()), ("ambiguous", pa.bool_())]
)
KEYS = pa.schema([("side", pa.string()), ("record_id", pa.string()), ("value", pa.string())])
NAMES = pa.schema([("display_name", pa.string())])


def _cell(text: str, kind: pa.DataType) -> Any:
    if text == "null":
        return None
    if text == '""':
        return ""
    if pa.types.is_boolean(kind):
        return {"true": True, "false": False}[text]
    if pa.types.is_integer(kind):
        return int(text)
    if pa.types.is_list(kind) or pa.types.is_struct(kind):
        return json.loads(text)
    if pa.types.is_timestamp(kind):
        return datetime.fromisoformat(text)
    return text


def parse(text: str, schema: pa.Schema) -> pa.Table:
    """Rows of ``text`` (first line: column names) as an Arrow table of ``schema``."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    header = [name.strip() for name in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        given = {name: _cell(cell, schema.field(name).type) for name, cell in zip(header, cells, strict=True)}
        rows.append({field.name: given.get(field.name) for field in schema})
    return pa.Table.from_pylist(rows, schema=schema)


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
