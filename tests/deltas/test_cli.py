from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from recon.cli import main
from recon.store import Store
from tests.deltas.test_deltas_import import W, load


@pytest.fixture
def data(tmp_path: Path, store: Store) -> Path:
    load(tmp_path, store, since=W)
    return store.root


def test_prints_completeness_counts_and_lag(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deltas", "--system", "idp", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "base c1 -> head c2, completeness 33.3% (3 of 9 changes and creations returned)" in out
    assert re.search(r"^  missed_change +4$", out, re.M)
    assert "watermark lag needed: 31 s (catches 2 boundary misses)" in out
    assert str(data / "deltas" / "system=idp" / "head=c2" / "delta_findings.parquet") in out


def test_json_and_thresholds(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "recon.toml"
    config.write_text("[thresholds]\nmissed_change = 3\nunreported_deletion = 1\n")
    code = main(
        [
            "deltas",
            "--system",
            "idp",
            "--base",
            "c1",
            "--head",
            "c2",
            "--data-dir",
            str(data),
            "--config",
            str(config),
            "--json",
        ]
    )
    assert code == 1  # 4 missed changes > 3
    report = json.loads(capsys.readouterr().out)
    assert report["thresholds_exceeded"] == ["missed_change"]
    assert report["counts"]["missed_change"] == 4 and report["watermark_lag_seconds"] == 31


def test_errors_exit_2_with_one_line(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deltas", "--system", "idp", "--head", "c9", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("recon: error: ") and "c9" in err and "\n" not in err
