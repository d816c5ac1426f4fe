"""A DuckDB connection that keeps each intermediate SQL result as its own table.

A relation returned by :func:`recon.engine.run_sql` reads its input views by name when it
runs; materialising every intermediate result under a unique name means a later file can
rebind a view name without changing what an earlier result holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from recon.engine import run_sql

__all__ = ["Run"]


class Run:
    """Runs ``sql/*.sql`` files on one connection and keeps their results as tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._counter = itertools.count(1)

    def table(
        self, name: str, params: Mapping[str, Any] | None, relations: Mapping[str, Any]
    ) -> duckdb.DuckDBPyRelation:
        """Run ``sql/<name>.sql`` and keep its result as a table; returns a relation over it."""
        relation = run_sql(name, params, relations, con=self.con)
        table_name = f"_{name}_{next(self._counter)}"
        relation.to_table(table_name)
        return self.con.table(table_name)

    def arrow(self, table: pa.Table) -> duckdb.DuckDBPyRelation:
        """A relation over a small Arrow table (bound as a view, like every other input)."""
        return self.con.from_arrow(table)
