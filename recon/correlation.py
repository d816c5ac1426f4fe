"""Correlation: which source record is which target record, by ordered match rules (CONTRACT §4).

Rules are tried in order over the records no earlier rule decided; a record with one candidate
is matched, a record with several is ambiguous and matched to none (``sql/reconcile_correlate_rule.sql``).
Used by :mod:`recon.reconcile` and by remediation plans, so both always agree on who is who.

A relation returned by :func:`recon.engine.run_sql` reads its input views by name when it
runs, so each step's result is materialised as a uniquely named table (:class:`SqlRun`)
before a later step rebinds a name it reads.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from recon.attributes import MatchRule, group_attribute, match_rules, user_attribute
from recon.config import ReconcileConfig
from recon.engine import Parquet, connect, run_sql
from recon.store import ExportRef, Store

__all__ = ["CORRELATION", "SqlRun", "correlate", "correlation", "rule_stats", "rules_table"]

CORRELATION = pa.schema(
    [("rule", pa.int32()), ("source_id", pa.string()), ("target_id", pa.string()), ("ambiguous", pa.bool_())]
)
_RULES = pa.schema([("rule", pa.int32()), ("description", pa.string())])


class SqlRun:
    """A DuckDB connection plus materialisation of intermediate results under unique names."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._counter = itertools.count(1)

    def table(
        self, name: str, params: Mapping[str, Any] | None, relations: Mapping[str, Any]
    ) -> duckdb.DuckDBPyRelation:
        """Run ``sql/<name>.sql`` and keep its result as a table; returns a relation over it."""
        return self.materialise(run_sql(name, params, relations, con=self.con), name)

    def arrow(self, table: pa.Table) -> duckdb.DuckDBPyRelation:
        """A relation over a small Arrow table (bound as a view like every other input).

        Binding Arrow objects by registration would leave a registered name that shadows
        the views of later bindings of the same name.
        """
        return self.con.from_arrow(table)

    def materialise(self, relation: duckdb.DuckDBPyRelation, label: str) -> duckdb.DuckDBPyRelation:
        """Keep ``relation``'s rows as a table with a unique name; returns a relation over it."""
        table_name = f"_{label}_{next(self._counter)}"
        relation.to_table(table_name)
        return self.con.table(table_name)

    def rows(
        self, name: str, params: Mapping[str, Any] | None, relations: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Run ``sql/<name>.sql`` and return its (small) result as dicts."""
        relation = run_sql(name, params, relations, con=self.con)
        columns = relation.columns
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def correlate(
    run: SqlRun, rules: Sequence[MatchRule], keys_file: str, inputs: Mapping[str, Parquet]
) -> duckdb.DuckDBPyRelation:
    """Apply the match rules in order; returns the (rule, source_id, target_id, ambiguous) table."""
    correlation = run.arrow(CORRELATION.empty_table())
    for number, rule in enumerate(rules, start=1):
        keys = run_sql(
            keys_file,
            {
                "source_column": rule.source.column_name if rule.source.extraction == "column" else None,
                "source_json_path": rule.source.json_path if rule.source.extraction == "json_value" else None,
                "target_column": rule.target.column_name if rule.target.extraction == "column" else None,
                "target_json_path": rule.target.json_path if rule.target.extraction == "json_value" else None,
                "case_exact": rule.case_exact,
            },
            inputs,
            con=run.con,
        )
        correlation = run.table(
            "reconcile_correlate_rule", {"rule": number}, {"correlation": correlation, "match_keys": keys}
        )
    return correlation


def correlation(
    store: Store, source: ExportRef, target: ExportRef, pair: ReconcileConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """How ``pair``'s match rules correlate the users and the groups of two exports, exactly as
    :func:`reconcile` decides it: two frames (rule, source_id, target_id, ambiguous)."""
    where = f"reconcile.{pair.source}.{pair.target}"
    user_rules = match_rules(pair.match, user_attribute, where + ".match")
    group_rules = match_rules(pair.group_match, group_attribute, where + ".group_match")
    con = connect(temp_dir=store.temp_dir)
    try:
        run = SqlRun(con)
        users_in = {
            f"{side}_users": Parquet.of(ref.table("users"))
            for side, ref in (("source", source), ("target", target))
        }
        groups_in = {
            f"{side}_groups": Parquet.of(ref.table("groups"))
            for side, ref in (("source", source), ("target", target))
        }
        users = correlate(run, user_rules, "reconcile_user_match_keys", users_in).pl()
        groups = correlate(run, group_rules, "reconcile_group_match_keys", groups_in).pl()
    finally:
        con.close()
    return users, groups


def rule_stats(
    run: SqlRun, correlation: duckdb.DuckDBPyRelation, rules: Sequence[MatchRule]
) -> list[dict[str, Any]]:
    stats = {
        row["rule"]: row
        for row in run.rows("reconcile_correlation_stats", None, {"correlation": correlation})
    }
    return [
        {
            "rule": rule.description,
            "matched": int(stats.get(number, {}).get("matched") or 0),
            "ambiguous_pairs": int(stats.get(number, {}).get("ambiguous_pairs") or 0),
        }
        for number, rule in enumerate(rules, start=1)
    ]


def rules_table(rules: Sequence[MatchRule]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"rule": n, "description": r.description} for n, r in enumerate(rules, start=1)], schema=_RULES
    )
