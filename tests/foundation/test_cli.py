from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recon import __version__
from recon.cli import main
from recon.extract.normalize import USER_SCHEMA


def write_users(path: Path, n: int = 3) -> Path:
    rows = [{"schemas": [USER_SCHEMA], "id": f"u{i}", "userName": f"u{i}@x"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"recon {__version__}"


def test_import_then_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_users(tmp_path / "u.ndjson")
    code = main(
        [
            "import",
            str(path),
            "--system",
            "okta",
            "--cycle",
            "c1",
            "--data-dir",
            str(tmp_path / "d"),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["manifest"]["rows"] == {"users": 3, "groups": 0, "memberships": 0}
    assert out["manifest"]["status"] == "complete"


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "env-data"))
    assert main(["import", str(write_users(tmp_path / "u.ndjson")), "--system", "okta", "--cycle", "c1"]) == 0
    assert (tmp_path / "env-data/exports/system=okta/cycle=c1/kind=full/users.parquet").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "{missing}", "--system", "okta", "--cycle", "c1"], "no such file"),
        (["import", "{file}", "--system", "../etc", "--cycle", "c1"], "invalid system name '../etc'"),
        (["import", "{file}", "--system", "okta", "--cycle", "c1", "--kind", "weekly"], "--kind 'weekly'"),
        (["import", "{bad}", "--system", "okta", "--cycle", "c1"], "bad.json:1:2: invalid JSON"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "bad.json").write_text("{,}")
    names = {
        "missing": str(tmp_path / "nope.json"),
        "file": str(write_users(tmp_path / "u.ndjson")),
        "bad": str(tmp_path / "bad.json"),
    }
    code = main([a.format(**names) for a in args] + ["--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("recon: error: ")
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", str(tmp_path / "nope.json"), "--system", "okta", "--cycle", "c1", "--debug"])
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--system", "okta"]) == 2
    assert main(["no-such-command"]) == 2


def test_console_script_runs_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "RECON_DATA_DIR": str(tmp_path / "d")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recon",
            "import",
            str(tmp_path / "none.json"),
            "--system",
            "a",
            "--cycle",
            "b",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("recon: error: ")
