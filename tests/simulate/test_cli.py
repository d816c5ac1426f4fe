"""``recon simulate`` on the command line: output, JSON summary, exit codes, profiles and rates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli import main
from recon.errors import UsageError
from recon.simulate import get_profile, simulate


def test_simulate_prints_where_everything_is_and_a_json_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--users", "60", "--cycles", "2", "--seed", "9"]) == 0
    text = capsys.readouterr().out
    assert "simulated idp -> slack, github: 60 users" in text and str(out / "truth") in text
    assert main(["simulate", "--out", str(out), "--users", "60", "--cycles", "2", "--force", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["initial_users"] == 60 and len(summary["cycles"]) == 2
    assert set(summary["findings"]) == {"slack", "github"}
    counted = json.loads((out / "truth" / "simulation.json").read_text())["truth"]["findings"]
    total = sum(n for cycles in counted.values() for kinds in cycles.values() for n in kinds.values())
    assert summary["findings_total"] == total > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "nope"], "unknown profile 'nope'"),
        (["--format", "xml"], "--format 'xml'"),
        (["--users", "3"], "at least 10 users"),
        (["--cycles", "0"], "--cycles 0"),
        (["--groups", "2"], "at least 4 groups"),
        (["--targets", "slack,okta"], "unknown target 'okta'"),
        (["--rate", "nonsense"], "use NAME=VALUE"),
        (["--rate", "mover_not_applied=2"], "between 0 and 1"),
        (["--rate", "no_such_rate=0.1"], "unknown rate 'no_such_rate'"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_a_folder_that_is_not_a_simulation_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["simulate", "--out", str(tmp_path), "--force"]) == 2
    assert "refusing to replace it" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_rates_override_a_profile(tmp_path: Path) -> None:
    assert get_profile("default") == get_profile("typical")
    assert get_profile("clean", {"mover_not_applied": 1.0}).sync.mover_not_applied == 1.0
    with pytest.raises(UsageError):
        get_profile("clean", {"manual_groups": -1})
    summary = simulate(tmp_path / "s", users=80, cycles=3, profile="clean", rates={"mover_not_applied": 1.0})
    assert summary.faults["slack"].get("mover_not_applied", 0) > 0
    assert summary.findings_total > 0  # clean plus one fault is no longer clean
