"""Evaluate a SCIM filter locally, over the normalised tables of an export, in DuckDB.

Used wherever recon needs the answer a filter *should* have: ``recon probe`` (expected
result of each probe), ``recon deltas`` (``outside_filter`` for any filter sent), and
extraction's local fallback. The filter is compiled by :mod:`recon.scim.filter` to a
predicate whose literals are bound parameters; the relations are bound as views.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from recon.engine import Relation, bind, run_sql
from recon.scim.filter import Catalog, Filter, compile_filter

__all__ = ["ExportTables", "matching_ids"]


@dataclass(frozen=True)
class ExportTables:
    """The three tables of an export as relations (Parquet, Arrow, polars or DuckDB)."""

    users: Relation
    groups: Relation
    memberships: Relation


def matching_ids(
    con: duckdb.DuckDBPyConnection,
    flt: Filter,
    resource_type: str,
    tables: ExportTables,
    catalog: Catalog | None = None,
) -> pa.Table:
    """Ids (one ``id`` column) of the ``resource_type`` rows of ``tables`` that satisfy ``flt``.

    Raises :class:`recon.errors.FilterSyntaxError` when the filter is invalid for the type.
    """
    compiled = compile_filter(flt, resource_type, catalog)
    if resource_type == "Group":
        relation = run_sql(
            "filter_groups_with_members",
            None,
            {"groups": tables.groups, "memberships": tables.memberships},
            con=con,
        )
        bind(con, compiled.relation, relation)
    else:
        bind(con, compiled.relation, tables.users)
    result = con.sql(compiled.select_ids_sql(), params=compiled.params or None)
    return result.to_arrow_table()
