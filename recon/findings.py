"""The findings vocabulary: every finding kind, severity and threshold recon speaks of, once.

reconcile, deltas, validate, history, report, bulk and the notebooks import their kind lists,
severities, threshold type and the summary parts they share from here (CONTRACT §4 describes
each kind). SQL files that order by severity declare the input ``severity_ranks``, which the
engine binds from :func:`severity_ranks` (one row per severity, 1 the most severe), so the
order is not spelled again as a ``CASE`` in each file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = [
    "DELTA_KINDS",
    "EXPORT_KINDS",
    "FINDING_IDENTITY",
    "FINDING_KINDS",
    "MAPPING_KINDS",
    "SEVERITIES",
    "SEVERITY_RANKS",
    "Threshold",
    "Thresholded",
    "severity_rank",
    "severity_ranks",
    "thresholds_for",
]

SEVERITIES = ("critical", "high", "medium", "low")
"""Severities, most severe first (this order is the order findings are listed in)."""

SEVERITY_RANKS = "severity_ranks"
"""The name SQL files declare as an input to read the severity order (see :func:`severity_ranks`)."""

FINDING_KINDS = (
    "missing_in_target",
    "orphaned_in_target",
    "ambiguous_match",
    "delayed_deactivation",
    "delayed_activation",
    "attribute_mismatch",
    "group_missing_in_target",
    "group_orphaned_in_target",
    "membership_missing",
    "membership_excess",
)
"""The kinds of ``recon reconcile`` findings (``findings.parquet``)."""

FINDING_IDENTITY = ("kind", "source_id", "target_id", "group_id", "target_group_id", "attribute")
"""The columns that identify a reconcile finding across cycles (CONTRACT §4 set-equality key)."""

DELTA_KINDS = (
    "missed_change",
    "missed_creation",
    "unreported_deletion",
    "unchanged_returned",
    "stale_last_modified",
    "outside_filter",
)
"""The kinds of ``recon deltas`` findings (``delta_findings.parquet``)."""

EXPORT_KINDS = (
    "leaked_attribute",
    "user_name_collision",
    "missing_required",
    "type_mismatch",
    "multiple_primary",
    "undeclared_schema",
    "schema_urn_missing",
    "undeclared_attribute",
    "schema_urn_without_block",
    "non_canonical_value",
    "attribute_name_case",
)
"""The kinds of ``recon validate`` export findings (``schema_findings.parquet``; see
:mod:`recon.validate.rules` for what each means and its severity)."""

MAPPING_KINDS = (
    "mapping_attribute_undeclared",  # a compared/matched attribute one side does not declare
    "mapping_type_mismatch",  # declared with different types (or single vs multi-valued)
    "mapping_case_exact_mismatch",  # caseExact differs between the two sides
    "mapping_unpopulated_in_target",  # populated in the source export, never in the target's
    "cross_system_case_collision",  # a source and a target value equal except for case
)
"""The kinds of ``recon validate --mapping`` findings (``mapping_findings.parquet``)."""


def severity_rank(severity: str) -> int:
    """1 for the most severe, up to ``len(SEVERITIES)``; a severity not in the list ranks last."""
    try:
        return SEVERITIES.index(severity) + 1
    except ValueError:
        return len(SEVERITIES)


def severity_ranks() -> pa.Table:
    """The relation SQL reads the severity order from: ``severity`` text, ``severity_rank`` 1..n."""
    return pa.table(
        {
            "severity": pa.array(SEVERITIES, pa.string()),
            "severity_rank": pa.array(range(1, len(SEVERITIES) + 1), pa.int32()),
        }
    )


@dataclass(frozen=True)
class Threshold:
    """A ``[thresholds]`` limit of recon.toml applied to one finding kind, with the count found."""

    kind: str
    limit: int
    count: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def thresholds_for(
    configured: Mapping[str, int], counts: Mapping[str, int], kinds: tuple[str, ...]
) -> tuple[Threshold, ...]:
    """The configured limits that apply to ``kinds``, with the counts found."""
    return tuple(
        Threshold(kind, limit, int(counts.get(kind, 0)))
        for kind, limit in sorted(configured.items())
        if kind in kinds
    )


class Thresholded:
    """The part of a findings summary that counts and judges: ``exceeded`` and its JSON.

    Mixed into the frozen summary dataclasses of reconcile and validate, which declare these
    four fields (a plain base class: its annotations are not dataclass fields).
    """

    total: int
    by_kind: Mapping[str, int]
    by_severity: Mapping[str, int]
    thresholds: tuple[Threshold, ...]

    @property
    def exceeded(self) -> tuple[Threshold, ...]:
        """The thresholds whose limit was exceeded (the CLI exits 1 when any)."""
        return tuple(t for t in self.thresholds if t.exceeded)

    def verdict_json(self) -> dict[str, Any]:
        """The keys every findings ``summary.json`` carries, in this order: ``total``, ``counts``
        (by kind and by severity), ``thresholds`` and the kinds whose limit was ``exceeded``."""
        return {
            "total": self.total,
            "counts": {"by_kind": dict(self.by_kind), "by_severity": dict(self.by_severity)},
            "thresholds": [
                {"kind": t.kind, "limit": t.limit, "count": t.count, "exceeded": t.exceeded}
                for t in self.thresholds
            ],
            "exceeded": [t.kind for t in self.exceeded],
        }
