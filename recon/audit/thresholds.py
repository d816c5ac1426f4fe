"""``[thresholds]`` breaches: what was exceeded, where, and by how much.

A breach is a finding kind whose count, for one pair (reconcile kinds), one system (delta and
schema kinds), is above its configured limit. ``recon audit`` collects them from the summaries
of the stages it ran; ``recon history --metrics`` derives them from the findings on disk with
:func:`breaches_from_history` (each pair's latest cycle, each system's latest delta check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.reports import HistorySummary

__all__ = ["Breach", "breaches_from_history"]


@dataclass(frozen=True)
class Breach:
    """One exceeded limit. ``source``/``target`` for a pair, ``system`` for one system's findings."""

    kind: str
    count: int
    limit: int
    cycle: str
    source: str = ""
    target: str = ""
    system: str = ""

    @property
    def excess(self) -> int:
        """Findings above the limit."""
        return self.count - self.limit

    @property
    def scope(self) -> str:
        return f"{self.source} -> {self.target}" if self.source else self.system

    def describe(self) -> str:
        """``delayed_deactivation 3 > limit 0 (+3) for idp -> slack at cycle C``."""
        return (
            f"{self.kind} {self.count} > limit {self.limit} (+{self.excess}) "
            f"for {self.scope} at cycle {self.cycle}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "limit": self.limit,
            "excess": self.excess,
            "cycle": self.cycle,
            "source": self.source or None,
            "target": self.target or None,
            "system": self.system or None,
        }


def breaches_from_history(thresholds: Mapping[str, int], summary: HistorySummary) -> list[Breach]:
    """Limits exceeded by each pair's latest findings cycle and each system's latest delta check."""
    import polars as pl

    from recon.reports.history import DELTA_KINDS

    found: list[Breach] = []
    if not thresholds:
        return found
    for source, target in summary.pairs:
        latest = summary.latest(source, target)["cycle"]
        rows = summary.counts.filter(
            (pl.col("source") == source) & (pl.col("target") == target) & (pl.col("cycle") == latest)
        )
        per_kind: dict[str, int] = {}
        for row in rows.iter_rows(named=True):
            per_kind[row["kind"]] = per_kind.get(row["kind"], 0) + int(row["findings"])
        for kind, limit in sorted(thresholds.items()):
            count = per_kind.get(kind, 0)
            if kind not in DELTA_KINDS and count > limit:
                found.append(Breach(kind, count, limit, latest, source=source, target=target))
    if not summary.completeness.is_empty():
        latest_heads = summary.completeness.sort("head").group_by("system", maintain_order=True).last()
        for row in latest_heads.sort("system").iter_rows(named=True):
            for kind, limit in sorted(thresholds.items()):
                if kind in DELTA_KINDS and int(row[kind] or 0) > limit:
                    found.append(Breach(kind, int(row[kind]), limit, row["head"], system=row["system"]))
    return found
