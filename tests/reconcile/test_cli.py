"""``recon reconcile`` on the command line: output, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli import main
from recon.store import Store
from tests.reconcile.builders import CYCLE, group, user, write_export


@pytest.fixture
def data(store: Store) -> Path:
    write_export(
        store,
        "idp",
        [
            user("u1", "ann", title="Engineer"),
            user("u2", "bob"),
            user("u3", "cy", active=False),
            group("g1", "eng", ["u1"]),
        ],
    )
    write_export(
        store,
        "app",
        [
            user("t1", "ann", external_id="u1", title="Manager"),
            user("t3", "cy"),
            user("t9", "zed"),
            group("tg1", "eng"),
        ],
    )
    return store.root


def test_console_summary(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["reconcile", "--source", "idp", "--target", "app", "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"reconcile idp -> app, cycle {CYCLE}: 5 findings" in out
    assert "by severity: critical 2 · high 1 · medium 2 · low 0" in out
    assert "missing_in_target (first 1 of 1):" in out
    assert "- [high] (u2 -> -) source user bob is active and in scope but has no target account" in out
    assert "membership_missing (first 1 of 1):" in out
    assert str(Store(data).findings_dir("idp", "app", CYCLE) / "findings.parquet") in out


def test_json_output_and_threshold_exit_code(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "recon.toml"
    config.write_text("[thresholds]\norphaned_in_target = 0\ndelayed_deactivation = 1\n")
    args = [
        "reconcile",
        "--source",
        "idp",
        "--target",
        "app",
        "--data-dir",
        str(data),
        "--config",
        str(config),
    ]
    code = main([*args, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["exceeded"] == ["orphaned_in_target"]
    assert summary["counts"]["by_kind"]["delayed_deactivation"] == 1
    assert {t["kind"]: t["exceeded"] for t in summary["thresholds"]} == {
        "delayed_deactivation": False,
        "orphaned_in_target": True,
    }
    code = main(args)
    out = capsys.readouterr().out
    assert code == 1
    assert "threshold orphaned_in_target: 1 (limit 0) EXCEEDED" in out


def test_errors_exit_2_with_one_line(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["reconcile", "--source", "idp", "--target", "nowhere", "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"recon: error: no full export of system 'nowhere' under {data / 'exports'}"
    write_export(Store(data), "idp", [user("u1", "ann")], cycle="20260106T020000Z")
    write_export(Store(data), "app", [user("t1", "ann")], cycle="20260106T020000Z", status="partial")
    code = main(
        [
            "reconcile",
            "--source",
            "idp",
            "--target",
            "app",
            "--data-dir",
            str(data),
            "--cycle",
            "20260106T020000Z",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--allow-partial" in err and "Traceback" not in err
