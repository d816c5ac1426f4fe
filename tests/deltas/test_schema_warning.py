"""`recon deltas` says, in one line, when an export it read has schema findings (issue #9)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from recon.cli import main
from recon.simulate import simulate


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deltas-schema") / "sim"
    simulate(out, users=80, groups=8, cycles=2, seed=5, targets=("slack",), schema_faults=0.2)
    return out


def _cycles(out: Path) -> list[str]:
    return [c["id"] for c in json.loads((out / "truth" / "simulation.json").read_text())["cycles"]]


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "schema finding" in line]


def test_deltas_warns_once_per_validated_export_with_the_truths_count(
    faulty: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _cycles(faulty)
    data = ["--data-dir", str(faulty)]
    deltas = ["deltas", "--system", "idp", "--base", base, "--head", head, *data, "--json"]
    main(deltas)
    assert _warnings(capsys.readouterr().err) == []  # nothing validated yet: nothing to say

    main(["validate", "--system", "idp", "--cycle", head, *data])
    capsys.readouterr()
    main(deltas)
    captured = capsys.readouterr()
    truth = faulty / "truth" / "schema" / "system=idp" / f"cycle={head}" / "schema_findings.parquet"
    expected = pl.read_parquet(truth).height
    assert expected > 0
    assert _warnings(captured.err) == [
        f"recon: warning: the export of idp at cycle {head} has {expected:,} schema findings that could "
        f"distort these results (recon validate --system idp --cycle {head})"
    ]
    json.loads(captured.out)  # --json stdout stays parseable
