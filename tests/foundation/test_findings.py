"""The findings vocabulary (recon/findings.py) is the one owner of kinds and the severity order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from recon.engine import load_sql, sql_dir
from recon.findings import (
    FINDING_KINDS,
    SEVERITIES,
    SEVERITY_RANKS,
    Threshold,
    Thresholded,
    severity_rank,
    severity_ranks,
    thresholds_for,
)
from tests.tables import run

_SEVERITY_CASE = re.compile(r"WHEN\s+'(critical|high|medium|low)'\s+THEN\s+\d", re.I)


def test_severity_ranks_follow_the_severity_order() -> None:
    table = severity_ranks()
    assert table.column("severity").to_pylist() == ["critical", "high", "medium", "low"]
    assert table.column("severity_rank").to_pylist() == [1, 2, 3, 4]
    assert [severity_rank(s) for s in SEVERITIES] == [1, 2, 3, 4]
    assert severity_rank("unheard-of") == 4


def test_no_sql_file_spells_the_severity_order_again() -> None:
    spelled = [p.name for p in sorted(sql_dir().glob("*.sql")) if _SEVERITY_CASE.search(p.read_text())]
    assert spelled == [], f"order by the {SEVERITY_RANKS} input instead: {spelled}"


def test_files_that_rank_severities_declare_the_input_and_the_engine_binds_it() -> None:
    declaring = [p.stem for p in sorted(sql_dir().glob("*.sql")) if SEVERITY_RANKS in p.read_text()]
    assert set(declaring) >= {"validate_findings", "validate_mapping_all", "history_drift_age"}
    for name in declaring:
        assert SEVERITY_RANKS in load_sql(name).inputs, name
    con = duckdb.connect()
    attribute = con.sql(  # noqa: F841 - read by name below
        "SELECT * FROM (VALUES ('mapping_type_mismatch', 'low', 'a'),"
        " ('mapping_type_mismatch', 'critical', 'b'), ('mapping_type_mismatch', 'high', 'c'))"
        " AS t(kind, severity, attribute)"
    )
    rows = con.sql(
        "SELECT kind, severity, attribute, NULL::VARCHAR AS source_attribute,"
        " NULL::VARCHAR AS target_attribute, NULL::VARCHAR AS source_id, NULL::VARCHAR AS target_id,"
        " NULL::VARCHAR AS source_value,"
        " NULL::VARCHAR AS target_value, NULL::VARCHAR AS detail FROM attribute"
    )
    result = run(
        "validate_mapping_all", None, con, attribute_findings=rows, collision_findings=rows.filter("false")
    ).fetchall()
    assert [(r[1], r[2]) for r in result] == [("critical", "b"), ("high", "c"), ("low", "a")]


def test_history_counts_a_column_per_severity() -> None:
    text = load_sql("history_cycles").query
    for severity in SEVERITIES:
        assert f"AS {severity}," in text


@dataclass(frozen=True)
class _Summary(Thresholded):
    total: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    thresholds: tuple[Threshold, ...]


def test_thresholds_apply_to_their_kinds_and_the_verdict_names_the_exceeded() -> None:
    counts = {"missing_in_target": 3, "orphaned_in_target": 1}
    configured = {"missing_in_target": 2, "orphaned_in_target": 1, "leaked_attribute": 0}
    thresholds = thresholds_for(configured, counts, FINDING_KINDS)
    assert thresholds == (Threshold("missing_in_target", 2, 3), Threshold("orphaned_in_target", 1, 1))
    summary = _Summary(4, counts, {"high": 4}, thresholds)
    assert summary.exceeded == (Threshold("missing_in_target", 2, 3),)
    verdict: dict[str, Any] = summary.verdict_json()
    assert list(verdict) == ["total", "counts", "thresholds", "exceeded"]
    assert verdict["exceeded"] == ["missing_in_target"]
    assert verdict["thresholds"][1] == {
        "kind": "orphaned_in_target",
        "limit": 1,
        "count": 1,
        "exceeded": False,
    }
