"""Anomalies of a crawl, aggregated by kind (count and the first five examples)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Anomaly", "AnomalyLog"]


@dataclass
class Anomaly:
    """Something odd about a crawl; ``incomplete`` when records may be missing because of it."""

    kind: str
    detail: str
    incomplete: bool = False
    count: int = 1
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As a manifest anomaly entry."""
        return {
            "kind": self.kind,
            "detail": self.detail,
            "count": self.count,
            "affects_completeness": self.incomplete,
            "examples": self.examples,
        }


class AnomalyLog:
    """Anomalies aggregated by kind (count + first five examples)."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Anomaly] = {}

    def add(self, kind: str, detail: str, *, incomplete: bool = False, example: str | None = None) -> None:
        """Record one occurrence of ``kind`` (the first detail is kept)."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = Anomaly(kind, detail, incomplete, 0)
        found.count += 1
        found.incomplete = found.incomplete or incomplete
        if example is not None and len(found.examples) < 5:
            found.examples.append(example)

    def extend(self, other: AnomalyLog, prefix: str = "") -> None:
        """Merge ``other`` into this log (examples prefixed with ``prefix``)."""
        for anomaly in other:
            found = self._by_kind.get(anomaly.kind)
            if found is None:
                self._by_kind[anomaly.kind] = Anomaly(
                    anomaly.kind,
                    f"{prefix}{anomaly.detail}",
                    anomaly.incomplete,
                    anomaly.count,
                    [f"{prefix}{e}" for e in anomaly.examples],
                )
            else:
                found.count += anomaly.count
                found.incomplete = found.incomplete or anomaly.incomplete
                room = 5 - len(found.examples)
                found.examples.extend(f"{prefix}{e}" for e in anomaly.examples[:room])

    def __iter__(self) -> Iterator[Anomaly]:
        return iter(self._by_kind.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind

    @property
    def incomplete(self) -> bool:
        """Whether any anomaly means records may be missing."""
        return any(a.incomplete for a in self._by_kind.values())
