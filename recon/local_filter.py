"""Evaluate a SCIM filter locally, over the normalised tables of an export, in DuckDB.

Used wherever recon needs the answer a filter *should* have: ``recon probe`` (expected
result of each probe), ``recon deltas`` (``outside_filter`` for any filter sent), and
extraction's local fallback. The filter is compiled by :mod:`recon.scim.filter` to a
predicate whose literals are bound parameters, run on an engine session.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from recon.engine import Input, Session
from recon.scim.filter import Catalog, Filter, compile_filter

__all__ = ["ExportTables", "matching_ids"]


@dataclass(frozen=True)
class ExportTables:
    """The three tables of an export as inputs of an engine session (Parquet, Arrow, polars, tables)."""

    users: Input
    groups: Input
    memberships: Input


def matching_ids(
    session: Session,
    flt: Filter,
    resource_type: str,
    tables: ExportTables,
    catalog: Catalog | None = None,
) -> pa.Table:
    """Ids (one ``id`` column) of the ``resource_type`` rows of ``tables`` that satisfy ``flt``.

    Raises :class:`recon.errors.FilterSyntaxError` when the filter is invalid for the type.
    """
    compiled = compile_filter(flt, resource_type, catalog)
    rows: Input = tables.users
    if resource_type == "Group":
        rows = session.run(
            "filter_groups_with_members", None, {"groups": tables.groups, "memberships": tables.memberships}
        )
    result = session.query(compiled.select_ids_sql(), compiled.params or None, {compiled.relation: rows})
    return session.arrow(result)
