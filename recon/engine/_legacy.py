"""The engine before :class:`recon.engine.Session`: kept only while call sites move (removed after)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import duckdb

from recon.engine import Parquet, check_call, load_sql
from recon.engine.duckdb import _parquet_scan, connect, memory_limit_bytes

__all__ = ["Relation", "bind", "connect", "memory_limit_bytes", "run_sql"]

Relation: TypeAlias = Parquet | duckdb.DuckDBPyRelation | Any  # Any: a polars or Arrow frame


def bind(con: duckdb.DuckDBPyConnection, name: str, relation: Relation) -> None:
    """Make ``relation`` readable as the view ``name`` on ``con``."""
    if isinstance(relation, Parquet):
        con.sql(_parquet_scan(relation)).create_view(name, replace=True)
    elif isinstance(relation, duckdb.DuckDBPyRelation):
        relation.create_view(name, replace=True)
    else:
        con.register(name, relation)


def run_sql(
    name: str,
    params: Mapping[str, Any] | None,
    relations: Mapping[str, Relation],
    *,
    con: duckdb.DuckDBPyConnection,
) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` over ``relations`` with ``params``; returns a lazy relation."""
    sql = load_sql(name)
    given = dict(params or {})
    check_call(sql, given, relations)
    for relation_name, relation in relations.items():
        bind(con, relation_name, relation)
    if given:
        return con.sql(sql.query, params=given)
    return con.sql(sql.query)
