"""``recon reconcile``: what differs between a source and a target directory in one cycle.

Picks the full exports of both systems for a cycle, correlates users and groups by the
ordered match rules of the config, and writes every finding of CONTRACT §4 to
``findings/source=<a>/target=<b>/cycle=<id>/findings.parquet`` with a ``summary.json``
beside it (published together by rename). All set logic is in ``sql/reconcile_*.sql``;
this module picks inputs and parameters, materialises intermediate results and writes.

The steps several later statements read (correlations, the parts of the findings) are kept
by the engine session (DuckDB spills them to ``<data>/.tmp`` beyond the memory limit); the
others stay lazy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recon import __version__
from recon.attributes import (
    AttributeSpec,
    MatchRule,
    columns_read,
    compare_attributes,
    compare_spec_table,
    group_attribute,
    match_rules,
    user_attribute,
)
from recon.config.toml import Config, EngineConfig, ReconcileConfig
from recon.engine import Call, Input, Parquet, Session, Table, load_sql, open_session
from recon.errors import ConfigError
from recon.findings import FINDING_KINDS, SEVERITIES, Threshold, Thresholded
from recon.reconcile.correlation import correlate, correlation, rule_stats, rules_table
from recon.schemas import ASSIGNMENT_GROUP_PREFIX, FINDINGS
from recon.store import ExportRef, Store, atomic_write_json

__all__ = [
    "FINDINGS",
    "KINDS",
    "SEVERITIES",
    "ReconcileSummary",
    "ThresholdResult",
    "correlation",
    "reconcile",
]

KINDS = FINDING_KINDS
ThresholdResult = Threshold  # the name reconcile has always exported
_NAMES = pa.schema([("display_name", pa.string())])
_MANAGER_MAP = pa.schema([("id", pa.string()), ("mapped", pa.string())])
_USER_IDS = pa.schema([("user_id", pa.string())])
_PAIRS = pa.schema([("source_id", pa.string()), ("target_id", pa.string())])
_WEIGHTS = pa.schema([("position", pa.int64()), ("w1", pa.int64()), ("w2", pa.int64())])
RAW_VALUES = pa.schema(  # reconcile_user_raw_values: none when no compared attribute reads raw
    [
        ("side", pa.string()),
        ("id", pa.string()),
        ("raw_originals", pa.list_(pa.list_(pa.string()))),
        ("raw_vals", pa.list_(pa.list_(pa.string()))),
    ]
)


@dataclass(frozen=True)
class ReconcileSummary(Thresholded):
    """What one reconcile found (also written as ``summary.json``)."""

    source: str
    target: str
    cycle: str
    findings_path: Path
    summary_path: Path
    total: int
    by_kind: Mapping[str, int]
    by_severity: Mapping[str, int]
    thresholds: tuple[ThresholdResult, ...]
    examples: Mapping[str, tuple[Mapping[str, str | None], ...]]
    inputs: Mapping[str, str]
    partial_inputs: tuple[str, ...] = ()
    allow_partial: bool = False
    correlation: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The summary as written to ``summary.json`` and printed by ``--json``."""
        return {
            "source": self.source,
            "target": self.target,
            "cycle": self.cycle,
            "findings": str(self.findings_path),
            **self.verdict_json(),
            "inputs": dict(self.inputs),
            "allow_partial": self.allow_partial,
            "partial_inputs": list(self.partial_inputs),
            "correlation": dict(self.correlation),
            "warnings": list(self.warnings),
            "examples": {kind: [dict(row) for row in rows] for kind, rows in self.examples.items()},
            "tool_version": self.tool_version,
        }


# -- choosing inputs ------------------------------------------------------------------------


def _names(values: Sequence[str]) -> pa.Table:
    return pa.Table.from_pylist([{"display_name": v} for v in values], schema=_NAMES)


def reconcile(
    store: Store,
    source: str,
    target: str,
    cycle: str | None = None,
    config: Config | None = None,
    *,
    allow_partial: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    examples_per_kind: int = 5,
    users_in_memory: bool | None = None,
    engine: EngineConfig | None = None,
) -> ReconcileSummary:
    """Reconcile ``target`` against ``source`` for ``cycle`` and publish findings + summary.

    The users' columns are copied into memory once when they take at most a quarter of
    DuckDB's memory limit, else every step reads them from the exports (``users_in_memory``
    forces either way; the findings are the same). ``engine`` picks the engine (default: DuckDB;
    ``[engine]`` of recon.toml when the command line passes ``config.engine``).

    Raises :class:`DataNotFound` when the exports are missing (or partial without
    ``allow_partial``) and :class:`ConfigError` for a bad ``[reconcile.<source>.<target>]``.
    """
    config = config or Config()
    pair = config.pair(source, target)
    where = f"{config.path or 'recon.toml'}: reconcile.{source}.{target}"
    user_rules = match_rules(pair.match, user_attribute, where + ".match")
    group_rules = match_rules(pair.group_match, group_attribute, where + ".group_match")
    compare = compare_attributes(pair.compare, where + ".compare")
    chosen, source_ref, target_ref = store.pick_pair(source, target, cycle, allow_partial=allow_partial)
    partial = tuple(str(ref.path) for ref in (source_ref, target_ref) if ref.manifest().status != "complete")

    opened = open_session(temp_dir=store.temp_dir, memory_limit=memory_limit, threads=threads, engine=engine)
    with opened as session:
        inputs: dict[str, Input] = {}
        account_columns = {"columns": _account_columns(user_rules, compare)}
        if users_in_memory is None:
            users_in_memory = _accounts_fit(session, account_columns["columns"], (source_ref, target_ref))
        for side, ref in (("source", source_ref), ("target", target_ref)):
            users = Parquet.of(ref.table("users"))
            # in memory, users are read from the export once, into a table of the columns this run
            # needs; beyond the budget that table would be spilled and read back by every step,
            # which costs more than each step decoding its few columns from the export
            if users_in_memory:
                inputs[f"{side}_users"] = session.run(
                    "reconcile_accounts", account_columns, {"users": users}, keep=True
                )
            else:
                inputs[f"{side}_users"] = users
            inputs[f"{side}_groups"] = Parquet.of(ref.table("groups"))
            inputs[f"{side}_memberships"] = Parquet.of(ref.table("memberships"))
        users_in = {k: inputs[k] for k in ("source_users", "target_users")}
        groups_in = {k: inputs[k] for k in ("source_groups", "target_groups")}
        inputs["user_correlation"] = correlate(session, user_rules, "reconcile_user_match_keys", users_in)
        inputs["group_correlation"] = correlate(session, group_rules, "reconcile_group_match_keys", groups_in)
        inputs["user_match_rules"] = session.bind(rules_table(user_rules))
        inputs["group_match_rules"] = session.bind(rules_table(group_rules))
        inputs["privileged_groups"] = session.bind(_names(pair.privileged_groups))
        scoped, inputs["scoped_users"] = _scope(session, pair, inputs, where)
        warnings: list[str] = []
        privileged_missing = _missing_names(session, pair.privileged_groups, inputs["source_groups"])
        if privileged_missing:
            warnings.append(
                "privileged_groups not found in the source: " + ", ".join(sorted(privileged_missing))
            )
        attribute_findings = _attribute_findings(session, compare, inputs)
        correlation_stats = {
            "users": rule_stats(session, inputs["user_correlation"], user_rules),
            "groups": rule_stats(session, inputs["group_correlation"], group_rules),
        }
        # one part at a time, so that their hash tables do not compete for memory
        parts = {
            "user_findings": _user_findings(session, scoped, inputs),
            "group_findings": _part(
                session, "reconcile_group_findings", {"assignment_prefix": ASSIGNMENT_GROUP_PREFIX}, inputs
            ),
            "membership_findings": _membership_findings(
                session,
                inputs,
                sum(rule["matched"] for rule in correlation_stats["groups"]),
                together=_prints_fit_together(session, (source_ref, target_ref)),
            ),
            "attribute_findings": attribute_findings,
        }
        final_dir = store.findings_dir(source, target, chosen)
        with store.publishing(final_dir) as staging:
            findings = session.run("reconcile_findings", None, parts)
            session.write_parquet(findings, staging / "findings.parquet", FINDINGS)
            written = Parquet.of(staging / "findings.parquet")
            counts = session.rows(session.run("reconcile_counts", None, {"findings": written}))
            example_rows = session.rows(
                session.run("reconcile_examples", {"per_kind": examples_per_kind}, {"findings": written})
            )
            summary = _summary(
                source=source,
                target=target,
                cycle=chosen,
                final_dir=final_dir,
                counts=counts,
                example_rows=example_rows,
                thresholds=config.thresholds,
                inputs={source: str(source_ref.path), target: str(target_ref.path)},
                partial=partial,
                allow_partial=allow_partial,
                correlation=correlation_stats,
                warnings=tuple(warnings),
            )
            atomic_write_json(staging / "summary.json", summary.to_json())
    return summary


def _part(
    session: Session, name: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Input]
) -> Table:
    """``sql/<name>.sql`` over the run-wide inputs it declares, kept."""
    declared = load_sql(name).inputs
    return session.run(name, params, {key: inputs[key] for key in declared}, keep=True)


USER_FINDING_PARTS = ("missing", "orphaned", "pairs")
"""The parts of ``sql/reconcile_user_findings.sql`` (``$part``), each run and kept on its own."""


def _user_findings(session: Session, scoped: bool, inputs: Mapping[str, Input]) -> Table:
    """The account findings in three statements (:data:`USER_FINDING_PARTS`), so that the anti join
    of every source account and that of every target account against the decided ids do not hold
    their hash tables at once: at 10M users together they spilled."""
    parts = [
        _part(session, "reconcile_user_findings", {"scoped": scoped, "part": part}, inputs)
        for part in USER_FINDING_PARTS
    ]
    return session.union_all(*parts)


def _membership_findings(
    session: Session, inputs: Mapping[str, Input], matched_groups: int, *, together: bool
) -> Table:
    """Membership drift in three statements, each holding one large hash table at a time: each
    side's per-member prints, kept; the matched users whose prints differ, kept (the prints are
    freed then); the memberships of those users compared row by row. At 10M users one statement
    holding both groupings and the join of the pairs to them spilled 3.2 GB. With ``together``
    (:func:`_prints_fit_together`) the two sides' prints are computed at the same time, each on
    one engine thread (:meth:`Session.run_kept_at_once`), else one after the other.

    A print sums two weights of each matched group, drawn at random for this run
    (:func:`random_weights`, one pair for each of the ``matched_groups`` 1:1 group pairs)."""
    weights = session.run(
        "reconcile_group_weights",
        None,
        {
            "group_correlation": inputs["group_correlation"],
            "random_weights": session.bind(random_weights(matched_groups)),
        },
        keep=True,
    )
    numbered = session.count(weights)
    if numbered != matched_groups:
        # the prints would leave the groups without weights out on both sides alike, hiding their
        # drift: a bug between the correlation stats and the SQL, never a property of the data
        raise RuntimeError(
            f"reconcile drew weights for {matched_groups} matched groups, but "
            f"reconcile_group_weights numbered {numbered}: membership prints would be incomplete"
        )
    sides = ("source", "target")
    calls: list[Call] = [
        (
            "reconcile_member_prints",
            {"side": side},
            {"memberships": inputs[f"{side}_memberships"], "group_weights": weights},
        )
        for side in sides
    ]
    kept = (
        session.run_kept_at_once(calls)
        if together
        else [session.run(name, params, given, keep=True) for name, params, given in calls]
    )
    prints = {f"{side}_member_prints": table for side, table in zip(sides, kept, strict=True)}
    session.release(weights)
    differing = session.run(
        "reconcile_membership_differing_users",
        None,
        {"user_correlation": inputs["user_correlation"], **prints},
        keep=True,
    )
    for table in prints.values():
        session.release(table)
    findings = _part(session, "reconcile_membership_findings", None, {**inputs, "differing_users": differing})
    session.release(differing)
    return findings


PRINT_BYTES_PER_MEMBERSHIP = 128
"""What one side's prints are taken to hold in memory per membership row while they are grouped
(the grouping's partitions hold about a row per membership: each user is a member of few groups)."""


def _prints_fit_together(session: Session, refs: Sequence[ExportRef]) -> bool:
    """Whether both sides' prints may be grouped at the same time: their memberships rows at
    :data:`PRINT_BYTES_PER_MEMBERSHIP` take at most a quarter of the engine's memory limit (at
    1M users without a limit they do; at 10M users under 4 GB they run one after the other, as a
    grouping alone fits there and two at once would spill). Read from the Parquet footers only."""
    rows: int = sum(pq.read_metadata(ref.table("memberships")).num_rows for ref in refs)
    return _within_a_quarter_of_the_limit(session, rows * PRINT_BYTES_PER_MEMBERSHIP)


def _within_a_quarter_of_the_limit(session: Session, size: int) -> bool:
    """Whether ``size`` bytes held at once leave three quarters of the engine's memory limit to the
    statements' hash tables (an unreadable limit is infinite: room enough)."""
    return bool(size * 4 <= session.memory_limit_bytes())


def random_weights(rows: int) -> pa.Table:
    """``rows`` positions (1..rows), each with two weights drawn independently and uniformly from
    the signed 64-bit integers by the operating system's random source (``os.urandom``): the
    input ``random_weights`` of ``sql/reconcile_group_weights.sql``. Fresh for every run, they are
    unknown to whoever wrote the exports, so equal membership prints of different sets of groups
    are a matter of chance (at most 2^-128 per user), never of the data."""

    def drawn() -> pa.Array:
        return pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(os.urandom(8 * rows))])

    return pa.table(
        {"position": pa.array(range(1, rows + 1), pa.int64()), "w1": drawn(), "w2": drawn()},
        schema=_WEIGHTS,
    )


def _accounts_fit(session: Session, columns: Sequence[str], refs: Sequence[ExportRef]) -> bool:
    """Whether both account tables fit in a quarter of DuckDB's memory limit (the rest is for
    the hash tables of correlation and membership fingerprints); an unreadable limit counts as
    room enough (then the accounts are kept in memory, as they always were)."""
    paths = [ref.table("users") for ref in refs]
    return _within_a_quarter_of_the_limit(session, accounts_bytes(paths, columns))


def accounts_bytes(paths: Sequence[Path], columns: Sequence[str]) -> int:
    """An estimate, from the Parquet footers only, of the memory the account tables of these
    users files take in DuckDB: the uncompressed size of the kept columns (a list or struct
    column counted by its top-level name) plus a 16-byte value header per row and column."""
    kept = set(columns)
    total = 0
    for path in paths:
        meta = pq.read_metadata(path)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.path_in_schema.split(".")[0] in kept:
                    total += chunk.total_uncompressed_size + 16 * group.num_rows
    return total


def _account_columns(rules: Sequence[MatchRule], compare: Sequence[AttributeSpec]) -> list[str]:
    """The user columns any step reads: correlation, findings, compared attributes."""
    columns = {"external_id", "user_name", "active", *columns_read(compare)}
    for spec in [*compare, *(s for rule in rules for s in (rule.source, rule.target))]:
        if spec.extraction == "column" and spec.column_name:
            columns.add(spec.column_name)
        if spec.reads_raw:
            columns.add("raw")
    return sorted(columns)


def _scope(
    session: Session, pair: ReconcileConfig, sides: Mapping[str, Input], where: str
) -> tuple[bool, Input]:
    if not pair.scope_groups:
        return False, session.bind(_USER_IDS.empty_table())
    roots = session.run(
        "reconcile_scope_roots",
        None,
        {"scope_groups": session.bind(_names(pair.scope_groups)), "source_groups": sides["source_groups"]},
        keep=True,
    )
    missing = sorted({row[0] for row in session.tuples(roots) if row[1] is None})
    if missing:
        raise ConfigError(
            f"{where}.scope_groups: no source group named {', '.join(repr(m) for m in missing)} "
            "(a scope group that does not exist would put every user out of scope)"
        )
    users = session.run(
        "reconcile_scope_users",
        None,
        {
            "scope_roots": roots,
            "source_memberships": sides["source_memberships"],
            "source_users": sides["source_users"],
            "source_groups": sides["source_groups"],
        },
        keep=True,
    )
    return True, users


def _missing_names(session: Session, names: Sequence[str], groups: Input) -> set[str]:
    if not names:
        return set()
    rows = session.rows(
        session.run(
            "reconcile_scope_roots",
            None,
            {"scope_groups": session.bind(_names(names)), "source_groups": groups},
        )
    )
    return {row["scope_group"] for row in rows if row["group_id"] is None}


def _attribute_findings(
    session: Session, compare: Sequence[AttributeSpec], inputs: Mapping[str, Input]
) -> Table:
    """Fingerprint every user's compared values; read and compare values only where prints differ."""
    if not compare:
        return session.bind(FINDINGS.empty_table())
    spec = session.bind(compare_spec_table(compare))
    manager_map = (
        session.run(
            "reconcile_manager_map", None, {"user_correlation": inputs["user_correlation"]}, keep=True
        )
        if any(s.extraction == "manager" for s in compare)
        else session.bind(_MANAGER_MAP.empty_table())
    )
    columns = columns_read(compare)
    reads_raw = any(s.reads_raw for s in compare)

    def values(pairs: Table | None) -> Table:
        """Compared values of every user, or with ``pairs`` of the users in those pairs only."""
        relations: dict[str, Input] = {
            "source_users": inputs["source_users"],
            "target_users": inputs["target_users"],
            "compare_spec": spec,
            "attribute_pairs": pairs if pairs is not None else session.bind(_PAIRS.empty_table()),
        }
        only = {"only_pairs": pairs is not None}
        # attributes read from the raw JSON are extracted by a statement of their own (DuckDB only)
        raw = (
            session.run("reconcile_user_raw_values", only, relations)
            if reads_raw
            else session.bind(RAW_VALUES.empty_table())
        )
        return session.run(
            "reconcile_user_attribute_values",
            {"columns": columns, **only},
            {**relations, "manager_map": manager_map, "raw_values": raw},
        )

    if all(s.extraction == "column" for s in compare):
        lower = sorted({s.column_name for s in compare if s.column_name and not s.case_exact})
        fingerprints = session.run(
            "reconcile_attribute_column_fingerprints",
            {"columns": columns, "lower_columns": lower},
            {"source_users": inputs["source_users"], "target_users": inputs["target_users"]},
        )
    else:
        fingerprints = session.run(
            "reconcile_attribute_value_fingerprints", None, {"attribute_values": values(None)}
        )
    pairs = session.run(
        "reconcile_attribute_differing_pairs",
        None,
        {"user_correlation": inputs["user_correlation"], "attribute_fingerprints": fingerprints},
        keep=True,
    )
    return session.run(
        "reconcile_attribute_mismatches",
        None,
        {"attribute_pairs": pairs, "attribute_values": values(pairs), "compare_spec": spec},
        keep=True,
    )


def _summary(
    *,
    source: str,
    target: str,
    cycle: str,
    final_dir: Path,
    counts: Sequence[Mapping[str, Any]],
    example_rows: Sequence[Mapping[str, Any]],
    thresholds: Mapping[str, int],
    inputs: Mapping[str, str],
    partial: tuple[str, ...],
    allow_partial: bool,
    correlation: Mapping[str, Any],
    warnings: tuple[str, ...],
) -> ReconcileSummary:
    by_kind = dict.fromkeys(KINDS, 0)
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for row in counts:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + int(row["findings"])
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + int(row["findings"])
    examples: dict[str, list[Mapping[str, Any]]] = {}
    for row in example_rows:
        examples.setdefault(row["kind"], []).append(row)
    applied = tuple(
        ThresholdResult(kind, limit, by_kind[kind])
        for kind, limit in sorted(thresholds.items())
        if kind in by_kind
    )
    return ReconcileSummary(
        source=source,
        target=target,
        cycle=cycle,
        findings_path=final_dir / "findings.parquet",
        summary_path=final_dir / "summary.json",
        total=sum(by_kind.values()),
        by_kind=by_kind,
        by_severity=by_severity,
        thresholds=applied,
        examples={kind: tuple(rows) for kind, rows in examples.items()},
        inputs=dict(inputs),
        partial_inputs=partial,
        allow_partial=allow_partial,
        correlation=dict(correlation),
        warnings=warnings,
    )
