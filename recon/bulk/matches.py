"""The 1:1 user and group matches of a reconcile, which a plan needs to place new memberships.

Findings name only what differs; a membership of a created user in an already matched
group needs that group's target id. The correlation follows SEMANTICS.md as reconcile does
(rules in order over the records no earlier rule decided; a record with several candidates is
ambiguous and matched to none), with the attribute paths of :mod:`recon.attributes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from recon.attributes import group_attribute, user_attribute
from recon.config import ReconcileConfig
from recon.engine import Parquet, connect, run_sql
from recon.store import ExportRef, Store

__all__ = ["Matches", "reconcile_matches"]

_PAIRS = {"source_id": pl.String, "target_id": pl.String}
_CORRELATION = {"rule": pl.Int32, "source_id": pl.String, "target_id": pl.String, "ambiguous": pl.Boolean}


@dataclass
class Matches:
    """Matched (source_id, target_id) pairs of users and of groups."""

    users: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_PAIRS))
    groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_PAIRS))
    _user_index: dict[str, str] | None = None

    def user_target_of(self, source_id: str) -> str | None:
        """The target id matched to a source user (e.g. to point a manager reference)."""
        if self._user_index is None:
            self._user_index = dict(zip(self.users["source_id"], self.users["target_id"], strict=True))
        return self._user_index.get(source_id)


def _correlate(
    con: duckdb.DuckDBPyConnection,
    sql_name: str,
    table: str,
    source: ExportRef,
    target: ExportRef,
    rules: Sequence[tuple[str, str]],
    kind: str,
) -> pl.DataFrame:
    correlation = pl.DataFrame(schema=_CORRELATION)
    for number, (source_path, target_path) in enumerate(rules, start=1):
        parse = user_attribute if kind == "User" else group_attribute
        source_spec = parse(source_path, "match")
        target_spec = parse(target_path, "match")
        case_exact = source_spec.case_exact and target_spec.case_exact
        keys = []
        for ref, spec in ((source, source_spec), (target, target_spec)):
            params = {
                "column_name": spec.column_name if spec.extraction == "column" else None,
                "json_path": spec.json_path if spec.extraction == "json_value" else None,
                "case_exact": case_exact,
            }
            keys.append(run_sql(sql_name, params, {table: Parquet.of(ref.table(table))}, con=con).pl())
        correlation = run_sql(
            "bulk_correlate_rule",
            {"rule": number},
            {"correlation": correlation, "source_keys": keys[0], "target_keys": keys[1]},
            con=con,
        ).pl()
    return correlation.filter(~pl.col("ambiguous")).select("source_id", "target_id")


def reconcile_matches(store: Store, source: ExportRef, target: ExportRef, pair: ReconcileConfig) -> Matches:
    """The user and group matches of ``source`` vs ``target`` under ``pair``'s match rules."""
    con = connect(temp_dir=store.temp_dir)
    try:
        users = _correlate(con, "bulk_user_match_keys", "users", source, target, pair.match, "User")
        groups = _correlate(con, "bulk_group_match_keys", "groups", source, target, pair.group_match, "Group")
    finally:
        con.close()
    return Matches(users=users, groups=groups)
