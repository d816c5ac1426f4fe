"""The wheel must carry sql/ and validate's compiled walker so that `pip install .` gives a working recon."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wheel(tmp_path: Path, env: dict[str, str] | None = None) -> set[str]:
    """The names in a wheel built from the checkout (pip, with build isolation)."""
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git is not installed; cannot make a clean copy of the project")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0 and "Could not find a version that satisfies the requirement" in done.stderr:
        pytest.skip("no package index reachable to fetch the build backend (hatchling, setuptools)")
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("recon-*.whl"))
    return set(zipfile.ZipFile(wheel).namelist())


def _compiler() -> str | None:
    return next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)


@pytest.mark.slow
def test_wheel_contains_every_sql_file_and_the_compiled_walker(tmp_path: Path) -> None:
    names = _wheel(tmp_path)
    shipped = {f"recon/sql/{p.name}" for p in (ROOT / "sql").glob("*.sql")}
    assert shipped, "no sql files in the checkout"
    assert shipped <= names
    assert "recon/cli/__init__.py" in names
    assert "recon/validate/build_hook.py" not in names
    walker = [
        n for n in names if n.startswith("recon/validate/_signatures") and not n.endswith((".c", ".pyi"))
    ]
    if _compiler() is None:
        pytest.skip("no C compiler on PATH: the wheel is built without validate's compiled walker")
    assert len(walker) == 1, f"one compiled walker expected in the wheel, found {walker}"


@pytest.mark.slow
def test_wheel_builds_without_a_compiler(tmp_path: Path) -> None:
    # setuptools takes the compiler from CC: one that always fails stands for a machine without one
    names = _wheel(tmp_path, {"CC": "false", "LDSHARED": "false"})
    assert "recon/validate/signatures.py" in names
    assert not [
        n for n in names if n.startswith("recon/validate/_signatures") and n.endswith((".so", ".pyd"))
    ]
