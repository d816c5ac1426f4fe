"""recon.reports.history on the hand-made scenario (expected numbers worked out by hand in scenario.py)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import recon.demo
from history import scenario
from history.scenario import C1, C2, C3, C4
from recon.demo import demo_data_dir
from recon.errors import DataNotFound, InputError, UsageError
from recon.reports.history import cycle_time, findings_summary_counts, history
from recon.store import Store


def pair(frame: pl.DataFrame, target: str) -> pl.DataFrame:
    return frame.filter((pl.col("source") == "idp") & (pl.col("target") == target))


def test_cycles_per_pair(scenario_store: Store) -> None:
    summary = history(scenario_store)
    assert summary.pairs == (("idp", "github"), ("idp", "slack"))
    cols = [
        "cycle",
        "findings",
        "critical",
        "high",
        "medium",
        "low",
        "new",
        "persisting",
        "resolved",
        "max_age",
    ]
    assert pair(summary.cycles, "slack").select(cols).rows() == [
        (C1, 1, 0, 0, 1, 0, 1, 0, 0, 1),
        (C2, 4, 2, 0, 2, 0, 3, 1, 0, 2),
        (C3, 4, 3, 0, 1, 0, 2, 2, 2, 3),
        (C4, 4, 2, 0, 2, 0, 1, 3, 1, 4),
    ]
    assert pair(summary.cycles, "github").select(cols).rows() == [
        (C1, 0, 0, 0, 0, 0, 0, 0, 0, 0),  # an empty findings file is a cycle with no drift
        (C2, 2, 2, 0, 0, 0, 2, 0, 0, 1),
        (C3, 3, 1, 1, 0, 1, 2, 1, 1, 2),
        (C4, 2, 0, 1, 0, 1, 0, 2, 1, 2),
    ]
    times = pair(summary.cycles, "slack")["cycle_time"].to_list()
    assert times[0] == datetime(2026, 1, 5, 2, tzinfo=UTC)


def test_counts_per_kind_and_severity(scenario_store: Store) -> None:
    counts = pair(history(scenario_store).counts, "github").filter(pl.col("cycle") == C3)
    assert sorted(counts.select("kind", "severity", "findings").rows()) == [
        ("delayed_deactivation", "critical", 1),
        ("missing_in_target", "high", 1),
        ("orphaned_in_target", "low", 1),
    ]


def test_open_drift_age_at_the_latest_cycle(scenario_store: Store) -> None:
    drift = pair(history(scenario_store).open_drift, "slack")
    got = drift.select("severity", "kind", "source_id", "target_id", "age", "first_cycle").rows()
    assert got == [  # worst first, then oldest
        ("critical", "delayed_deactivation", "u7", "s7", 2, C3),
        ("critical", "orphaned_in_target", None, "s3", 2, C3),
        ("medium", "attribute_mismatch", "u1", "s1", 4, C1),
        ("medium", "membership_missing", "u4", "s4", 1, C4),  # absent at C3: the run restarted
    ]
    assert set(drift["cycle"]) == {C4}


def test_leavers_and_latency(scenario_store: Store) -> None:
    summary = history(scenario_store)
    cols = [
        "source_id",
        "left_cycle",
        "deleted_cycle",
        "resolved_cycle",
        "latency_cycles",
        "latency_hours",
        "still_open",
        "open_cycles",
    ]
    slack = {row[0]: row[1:] for row in pair(summary.leavers, "slack").select(cols).rows()}
    assert slack == {
        "u2": (C2, None, C4, 2, 48.0, False, 2),
        "u3": (C2, C3, None, None, None, True, 3),
        "u6": (C1, None, C1, 0, 0.0, False, 0),
        "u7": (C3, None, None, None, None, True, 2),
    }
    github = {row[0]: row[1:] for row in pair(summary.leavers, "github").select(cols).rows()}
    assert github == {
        "u2": (C2, None, C4, 2, 48.0, False, 2),
        "u3": (C2, C3, C3, 1, 24.0, False, 1),  # orphaned but inactive after the source delete
        "u6": (C1, None, C1, 0, 0.0, False, 0),
        "u7": (C3, None, C3, 0, 0.0, False, 0),
    }
    assert summary.latency_of("idp", "slack") | {} == {
        "source": "idp",
        "target": "slack",
        "leavers": 4,
        "resolved": 2,
        "still_open": 2,
        "p50_cycles": 0,
        "p95_cycles": 2,
        "max_cycles": 2,
        "p50_hours": 0.0,
        "p95_hours": 48.0,
        "max_hours": 48.0,
        "oldest_open_cycles": 3,
        "oldest_open_hours": 48.0,
    }
    github_latency = summary.latency_of("idp", "github")
    assert (github_latency["p50_cycles"], github_latency["p95_cycles"], github_latency["still_open"]) == (
        0,
        2,
        0,
    )
    assert sorted(summary.still_active()["user_name"]) == ["carol@example.com", "gina@example.com"]


def test_completeness_and_missed_by_cause(scenario_store: Store) -> None:
    summary = history(scenario_store)
    assert summary.completeness.select(
        "head",
        "base",
        "completeness",
        "missed_change",
        "missed_creation",
        "unreported_deletion",
        "stale_last_modified",
    ).rows() == [
        (C2, C1, 1.0, 0, 0, 0, 0),
        (C3, C2, 0.5, 2, 0, 1, 1),
        (C4, C3, 0.75, 0, 1, 0, 0),
    ]
    assert sorted(summary.missed.select("head", "kind", "cause", "missed").rows()) == [
        (C3, "missed_change", "lastModified advanced, not returned", 1),
        (C3, "missed_change", "lastModified not advanced", 1),
        (C4, "missed_creation", "lastModified advanced, not returned", 1),
    ]


def test_verdicts_are_plain_sentences(scenario_store: Store) -> None:
    verdicts = history(scenario_store).verdicts()
    slack = verdicts[("idp", "slack")]
    assert "2 leavers still active in slack, oldest 3 cycles" in slack
    assert "4 open findings at cycle 20260108T020000Z (2 critical, 2 medium)" in slack
    assert "no leavers still active in github" in verdicts[("idp", "github")]


def test_filters_restrict_pairs(scenario_store: Store) -> None:
    summary = history(scenario_store, target="github")
    assert summary.pairs == (("idp", "github"),)
    assert set(summary.leavers["target"]) == {"github"}
    assert summary.completeness.height == 3  # deltas of the source idp still shown
    with pytest.raises(DataNotFound, match="no findings for source=nobody"):
        history(scenario_store, source="nobody")
    with pytest.raises(UsageError):
        history(scenario_store, target="../x")


def test_no_findings_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataNotFound, match="run recon reconcile"):
        history(Store(tmp_path / "empty"))


def test_history_matches_the_summary_json_counts(scenario_store: Store) -> None:
    from_summaries = findings_summary_counts(scenario_store)
    from_parquet = (
        history(scenario_store)
        .counts.group_by("source", "target", "cycle", "kind")
        .agg(pl.col("findings").sum())
    )
    key = ["source", "target", "cycle", "kind"]
    assert from_summaries.sort(key).rows() == from_parquet.sort(key).rows()


def test_to_json_is_serialisable(scenario_store: Store) -> None:
    data = json.loads(json.dumps(history(scenario_store).to_json()))
    assert data["cycles"][0]["cycle_time"] == "2026-01-05T02:00:00Z"
    assert {p["target"] for p in data["pairs"]} == {"slack", "github"}


@pytest.mark.parametrize(
    ("cycle", "expected"),
    [
        ("20260105T020000Z", datetime(2026, 1, 5, 2, tzinfo=UTC)),
        ("2026-01-05T04:00:00+02:00", datetime(2026, 1, 5, 2, tzinfo=UTC)),
        ("c1", None),
    ],
)
def test_cycle_time(cycle: str, expected: datetime | None) -> None:
    assert cycle_time(cycle) == expected


def test_demo_data_dir_prefers_data_with_findings(
    scenario_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert demo_data_dir(scenario_store.root) == scenario_store.root.resolve()
    monkeypatch.setenv("RECON_DATA_DIR", str(scenario_store.root))
    assert demo_data_dir() == scenario_store.root.resolve()
    monkeypatch.delenv("RECON_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(scenario_store.root)
    monkeypatch.chdir(tmp_path / "notebooks")  # a notebook runs in notebooks/: ../data is found
    assert demo_data_dir() == scenario_store.root.resolve()


def test_demo_data_dir_runs_the_demo_into_a_temporary_folder_when_no_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Path] = []

    def run_demo(data_dir: Path) -> None:  # stands in for recon.demo.run_demo
        calls.append(data_dir)
        scenario.write_findings(Store(data_dir), "idp", "slack", C2, [])

    monkeypatch.setattr(recon.demo, "run_demo", run_demo)
    monkeypatch.delenv("RECON_DATA_DIR", raising=False)
    (tmp_path / "work").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # no ./data, no ../data with findings
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    found = demo_data_dir()
    assert calls == [found] and found.is_dir()
    assert found.parent.parent == tmp_path / "tmp"  # a fresh temporary folder, not the working one
    assert history(Store(found)).pairs == (("idp", "slack"),)


def test_a_corrupt_findings_file_is_a_one_line_input_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    scenario.write_findings(store, "idp", "slack", C1, [scenario.am_u1()])
    (store.findings_dir("idp", "slack", C2)).mkdir(parents=True)
    (store.findings_dir("idp", "slack", C2) / "findings.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=f"cannot read the findings under {store.root}") as caught:
        history(store)
    assert "\n" not in str(caught.value)


def test_findings_without_source_exports_have_no_leavers(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    for cycle in (C1, C2):
        scenario.write_findings(store, "idp", "slack", cycle, scenario.SLACK[cycle])
    summary = history(store)
    assert summary.leavers.is_empty()
    latency = summary.latency_of("idp", "slack")
    assert (latency["leavers"], latency["still_open"], latency["p50_cycles"]) == (0, 0, None)
    assert "leaver" not in summary.verdicts()[("idp", "slack")]
    assert summary.completeness.is_empty() and summary.missed.is_empty()
