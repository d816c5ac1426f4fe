"""Given tables -> expected rows for deltas_kind_counts."""

from __future__ import annotations

import pyarrow as pa

from tests.tables import parse, run


def test_kind_counts_count_each_kind_once_per_finding() -> None:
    findings = parse(
        """
        kind                | id
        missed_change       | u1
        outside_filter      | u2
        missed_change       | u3
        unreported_deletion | g1
        """,
        pa.schema([("kind", pa.string()), ("id", pa.string())]),
    )
    assert run("deltas_kind_counts", delta_findings=findings).fetchall() == [
        ("missed_change", 2),
        ("outside_filter", 1),
        ("unreported_deletion", 1),
    ]
