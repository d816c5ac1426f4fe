"""The wheel must carry sql/ so that `pip install .` gives a working recon."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_every_sql_file(tmp_path: Path) -> None:
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is not installed; cannot make a clean copy of the project")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if (
        done.returncode != 0
        and "Could not find a version that satisfies the requirement hatchling" in done.stderr
    ):
        pytest.skip("no package index reachable to fetch the build backend (hatchling)")
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("recon-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"recon/sql/{p.name}" for p in (ROOT / "sql").glob("*.sql")}
    assert shipped, "no sql files in the checkout"
    assert shipped <= names
    assert "recon/cli/__init__.py" in names
