"""Correlation: which source record is which target record, by ordered match rules (CONTRACT §4).

Rules are tried in order over the records no earlier rule decided; a record with one candidate
is matched, a record with several is ambiguous and matched to none (``sql/reconcile_correlate_rule.sql``).
Used by :mod:`recon.reconcile.run` and by remediation plans, so both always agree on who is who.

Each rule's correlation is kept (computed once) by the engine session, since the next rule
and every later statement read it. Besides the columns of :data:`CORRELATION`, its rows carry
the two records' active flags (``source_active``, ``target_active``; NULL for groups), which the
activity findings read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from recon.attributes import MatchRule, group_attribute, match_rules, user_attribute
from recon.config.toml import ReconcileConfig
from recon.engine import Input, Parquet, Session, Table, open_session
from recon.store import ExportRef, Store

__all__ = ["CORRELATION", "CORRELATION_WITH_FLAGS", "correlate", "correlation", "rule_stats", "rules_table"]

CORRELATION = pa.schema(
    [("rule", pa.int32()), ("source_id", pa.string()), ("target_id", pa.string()), ("ambiguous", pa.bool_())]
)
CORRELATION_WITH_FLAGS = pa.schema(
    [*CORRELATION, pa.field("source_active", pa.bool_()), pa.field("target_active", pa.bool_())]
)
"""What :func:`correlate` keeps: :data:`CORRELATION` and the two records' active flags (NULL for
groups), which reconcile_user_findings' activity findings read."""
_RULES = pa.schema([("rule", pa.int32()), ("description", pa.string())])


def correlate(
    session: Session, rules: Sequence[MatchRule], keys_file: str, inputs: Mapping[str, Input]
) -> Table:
    """Apply the match rules in order; returns the :data:`CORRELATION_WITH_FLAGS` table."""
    correlation = session.bind(CORRELATION_WITH_FLAGS.empty_table())
    for number, rule in enumerate(rules, start=1):
        keys = session.run(
            keys_file,
            {
                "source_column": rule.source.column_name if rule.source.extraction == "column" else None,
                "source_json_path": rule.source.json_path if rule.source.extraction == "json_value" else None,
                "target_column": rule.target.column_name if rule.target.extraction == "column" else None,
                "target_json_path": rule.target.json_path if rule.target.extraction == "json_value" else None,
                "case_exact": rule.case_exact,
            },
            inputs,
        )
        earlier = correlation
        decided = session.run(
            "reconcile_correlate_rule",
            {"rule": number},
            {"correlation": earlier, "match_keys": keys},
            keep=True,
        )
        if number == 1:
            correlation = decided
        else:
            # kept as one table: Spark fails to plan later statements over a union of kept frames
            # ("key not found" in its constraint propagation)
            correlation = session.keep(session.union_all(earlier, decided))
            session.release(decided)
        # at 10M users the earlier table is ~1 GB that would otherwise stay in the memory limit (and
        # be spilled) until the session closes
        session.release(earlier)
    return correlation


def correlation(
    store: Store, source: ExportRef, target: ExportRef, pair: ReconcileConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """How ``pair``'s match rules correlate the users and the groups of two exports, exactly as
    :func:`reconcile` decides it: two frames (rule, source_id, target_id, ambiguous)."""
    where = f"reconcile.{pair.source}.{pair.target}"
    user_rules = match_rules(pair.match, user_attribute, where + ".match")
    group_rules = match_rules(pair.group_match, group_attribute, where + ".group_match")
    with open_session(temp_dir=store.temp_dir) as session:
        users_in = {
            f"{side}_users": Parquet.of(ref.table("users"))
            for side, ref in (("source", source), ("target", target))
        }
        groups_in = {
            f"{side}_groups": Parquet.of(ref.table("groups"))
            for side, ref in (("source", source), ("target", target))
        }
        users = session.polars(correlate(session, user_rules, "reconcile_user_match_keys", users_in))
        groups = session.polars(correlate(session, group_rules, "reconcile_group_match_keys", groups_in))
    return users.select(CORRELATION.names), groups.select(CORRELATION.names)


def rule_stats(session: Session, correlation: Input, rules: Sequence[MatchRule]) -> list[dict[str, Any]]:
    stats = {
        row["rule"]: row
        for row in session.rows(
            session.run("reconcile_correlation_stats", None, {"correlation": correlation})
        )
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
