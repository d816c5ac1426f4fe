"""``recon history`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from history.scenario import C2, C4
from recon.cli import main
from recon.store import Store


def test_history_text(scenario_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--data-dir", str(scenario_store.root), "--target", "slack"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("idp → slack (4 cycles): 4 open findings")
    assert f"  {C4}          4        2        0        2        0        1        1        4" in out
    assert (
        f"still active: carol@example.com (source id u3, slack account s3) left {C2}, active for 3 cycle(s)"
        in out
    )
    assert "github" not in out.split("delta filter completeness:")[0]
    assert "completeness 0.50" in out


def test_history_json(scenario_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--data-dir", str(scenario_store.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    latency = {(row["target"]): row for row in data["latency"]}
    assert (latency["slack"]["still_open"], latency["slack"]["oldest_open_cycles"]) == (2, 3)
    assert (latency["github"]["p95_cycles"], latency["github"]["max_hours"]) == (2, 48.0)
    ages = {
        (row["target"], row["kind"], row["source_id"], row["target_id"]): row["age"]
        for row in data["open_drift"]
    }
    assert ages[("slack", "attribute_mismatch", "u1", "s1")] == 4


def test_history_without_findings_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recon: error: no findings under") and err.count("\n") == 1
