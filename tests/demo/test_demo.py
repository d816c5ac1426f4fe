"""`recon demo` (the README's first command): every stage runs, findings equal the truth, report written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from conftest import DemoRun

from recon.cli import main
from recon.store import Store

STAGES = ["simulate", "validate", "extract", "reconcile", "deltas", "bulk plan", "history + report", "audit"]


@pytest.mark.slow
def test_demo_exits_0_and_prints_every_stage_in_order(demo_run: DemoRun) -> None:
    assert demo_run.returncode == 0, demo_run.stderr
    headers = re.findall(r"^== (.+?) \(\d+\.\d s\)$", demo_run.stdout, flags=re.MULTILINE)
    assert headers == STAGES
    assert "NOT AS EXPECTED" not in demo_run.stdout
    assert demo_run.stderr == ""


@pytest.mark.slow
def test_demo_reports_exactness_against_the_simulator_truth(demo_run: DemoRun) -> None:
    store = Store(demo_run.data_dir)
    cycles = store.cycles("idp", "full")
    heads = store.cycles("idp", "delta")
    assert len(cycles) == 8 and len(heads) == 7
    runs = 2 * len(cycles)
    assert f"findings equal the simulator's truth in {runs} of {runs} runs" in demo_run.stdout
    assert (
        f"delta findings equal the simulator's truth in {len(heads)} of {len(heads)} runs" in demo_run.stdout
    )
    # Independently of the demo's own check: the last cycle's findings equal truth/ for both targets.
    key = ["kind", "source_id", "target_id", "group_id", "target_group_id", "attribute"]
    for target in ("slack", "github"):
        mine = store.findings_dir("idp", target, cycles[-1]) / "findings.parquet"
        truth = demo_run.data_dir / "truth" / "findings" / "source=idp" / f"target={target}"
        expected = truth / f"cycle={cycles[-1]}" / "findings.parquet"
        got = pl.read_parquet(mine, columns=key, hive_partitioning=False).sort(key, nulls_last=True)
        want = pl.read_parquet(expected, columns=key, hive_partitioning=False).sort(key, nulls_last=True)
        assert got.height > 0
        assert got.to_dicts() == want.to_dicts()


@pytest.mark.slow
def test_demo_writes_validation_extract_plan_and_an_offline_report(demo_run: DemoRun) -> None:
    root = demo_run.data_dir
    store = Store(root)
    for system in ("idp", "slack", "github"):
        assert list((root / "validation").glob(f"system={system}/cycle=*/schema_findings.parquet")), system
    live = store.latest_complete("idp-live").manifest()
    served = store.latest_complete("idp").manifest()
    assert live.status == "complete" and live.rows == served.rows
    chunks = list((root / "plans").rglob("*.json"))
    assert chunks, "no remediation plan written"
    report = root / "report.html"
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html or "data:image" in html
    assert "https://cdn" not in html
    assert f"report: {report}" in demo_run.stdout


def test_demo_refuses_a_folder_with_other_data_and_writes_nothing(tmp_path: Path, capsys: object) -> None:
    real = tmp_path / "data"
    (real / "exports").mkdir(parents=True)
    (real / "exports" / "keep.txt").write_text("real data", encoding="utf-8")
    code = main(["demo", "--data-dir", str(real)])
    assert code == 2
    assert sorted(p.name for p in real.rglob("*")) == ["exports", "keep.txt"]


@pytest.mark.slow
def test_demo_json_is_machine_readable(tmp_path: Path, capsys: object) -> None:
    import pytest

    assert isinstance(capsys, pytest.CaptureFixture)
    code = main(["demo", "--data-dir", str(tmp_path / "d"), "--users", "200", "--cycles", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] is True
    assert [s["name"] for s in out["stages"]] == STAGES
    assert out["truth_checks"]["reconcile"] == {"equal": 6, "runs": 6}
    assert out["truth_checks"]["deltas"] == {"equal": 2, "runs": 2}


def test_demo_ends_with_an_audit_that_writes_the_metrics_file(demo_run: DemoRun) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    store = Store(demo_run.data_dir)
    last = store.cycles("idp", "full")[-1]
    assert f"recon audit, cycle {last}: " in demo_run.stdout and "; 0 failed, " in demo_run.stdout
    assert f"metrics for Prometheus: {store.metrics_path}" in demo_run.stdout
    families = {f.name: f for f in text_string_to_metric_families(store.metrics_path.read_text("utf-8"))}
    samples = families["recon_pair_audited"].samples
    audited = {(s.labels["source"], s.labels["target"]): s.value for s in samples}
    assert audited == {("idp", "slack"): 1.0, ("idp", "github"): 1.0}
    record = json.loads((store.audit_dir(last) / "audit.json").read_text(encoding="utf-8"))
    assert record["exit_code"] == 0 and record["not_audited"] == []
