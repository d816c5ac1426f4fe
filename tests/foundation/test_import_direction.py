"""Rooms import only rooms below them: the [tool.importlinter] contract in pyproject.toml holds.

The contract is checked on the real tree, and on a copy with a planted upward import, so a
contract that had stopped looking (a renamed package, a layer list that no longer matches the
tree) fails here instead of passing quietly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as lint; lint()"]


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the ``recon`` package found in ``tree``, with the project's contract."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [*LINT, "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_every_room_imports_only_rooms_below_it() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "recon", tmp_path / "recon", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return tmp_path


PLANTED = {
    # the protocol room reaching up into extraction, inside a function (lazy imports count)
    "scim/paging.py": "\ndef _planted() -> None:\n    import recon.extract.writer\n",
    # a stage reaching up into the CLI
    "reconcile/run.py": "\nfrom recon.cli import common as _planted\n",
}


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    for module, planted in PLANTED.items():
        with (tree / "recon" / module).open("a", encoding="utf-8") as source:
            source.write(planted)
    done = lint(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
    assert "recon.scim.paging -> recon.extract.writer" in done.stdout
    assert "recon.reconcile.run -> recon.cli.common" in done.stdout


def test_a_new_room_must_be_placed_in_a_layer(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    (tree / "recon" / "unplaced.py").write_text('"""A module nobody placed."""\n', encoding="utf-8")
    done = lint(tree)
    assert done.returncode != 0
    assert "recon.unplaced" in done.stdout + done.stderr
