"""The resources validate checks: one representative per signature, and whom each stands for.

With the compiled walker (:mod:`recon.validate.signatures`) a million users come down to a few
representatives. Without it (no C compiler at install time, or a checked name the walker cannot
take) every resource is its own representative, read straight from the export's Parquet files,
so validate costs what it did before the walker existed and finds the same.

Either way validate sees the same four relations: ``users`` / ``groups`` (``id``: the
representative's key, ``U<n>`` or ``G<n>``; ``raw``; ``weight``: how many resources it stands
for), ``representatives`` (``resource_type``, ``id``, ``weight``) and ``members``
(``resource_type``, ``rep``: the number in a key, ``id``: the SCIM id of every resource).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from recon.engine import Parquet, Session, Table
from recon.store import ExportRef
from recon.validate.signatures import Distinct, compiled, distinct_resources, signature_spec

__all__ = ["Represented", "represent"]

_TYPES = (("User", "users"), ("Group", "groups"))


@dataclass(frozen=True)
class Represented:
    """The relations validate reads instead of the export's files (see the module)."""

    users: Table
    groups: Table
    representatives: Table
    members: Table

    @property
    def inputs(self) -> dict[str, Table]:
        """``users`` and ``groups``, as ``validate_shapes`` takes them."""
        return {"users": self.users, "groups": self.groups}


def represent(session: Session, ref: ExportRef, params: Mapping[str, Any]) -> Represented:
    """The representatives of the export at ``ref``; ``params`` are :meth:`ValueChecks.params`."""
    spec = signature_spec(params)
    if not compiled() or spec is None:
        return _every_resource(session, ref)
    # both files at once, so neither waits for the other's last row group
    with ThreadPoolExecutor(2) as both:
        futures = {
            resource_type: both.submit(
                distinct_resources, ref.table(table), resource_type[0], spec[resource_type]
            )
            for resource_type, table in _TYPES
        }
        distinct = {resource_type: future.result() for resource_type, future in futures.items()}
    return Represented(
        users=session.bind(distinct["User"].representatives),
        groups=session.bind(distinct["Group"].representatives),
        representatives=session.bind(_by_type(distinct, "representatives", ["id", "weight"])),
        members=session.bind(_by_type(distinct, "members", ["rep", "id"])),
    )


def _by_type(distinct: Mapping[str, Distinct], part: str, columns: list[str]) -> pa.Table:
    """One part of each resource type's :class:`Distinct`, with a resource_type column, in one table."""
    tables = []
    for resource_type, found in distinct.items():
        table = getattr(found, part).select(columns)
        tables.append(table.append_column("resource_type", pa.repeat(pa.scalar(resource_type), len(table))))
    return pa.concat_tables(tables)


def _every_resource(session: Session, ref: ExportRef) -> Represented:
    """Every resource its own representative, keyed by its row number in its file (streamed by the engine)."""
    rows = {resource_type: Parquet.of(ref.table(table), row_numbers=True) for resource_type, table in _TYPES}
    both = {"user_rows": rows["User"], "group_rows": rows["Group"]}
    return Represented(
        users=session.run("validate_every_resource_keyed", {"letter": "U"}, {"rows": rows["User"]}),
        groups=session.run("validate_every_resource_keyed", {"letter": "G"}, {"rows": rows["Group"]}),
        representatives=session.run("validate_every_resource_representatives", None, both),
        members=session.run("validate_every_resource_members", None, both),
    )
