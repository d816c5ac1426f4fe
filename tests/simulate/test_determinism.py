"""Same seed -> byte-identical files (whatever PYTHONHASHSEED); another seed -> another directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ARGS = [
    "--users",
    "120",
    "--groups",
    "12",
    "--cycles",
    "3",
    "--profile",
    "hostile",
    "--targets",
    "slack,github,jira",
]


def _run(out: Path, seed: int, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    command = [sys.executable, "-m", "recon", "simulate", "--out", str(out), "--seed", str(seed), *ARGS]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_gives_the_same_bytes_and_another_seed_another_directory(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _run(first, 5, "1")
    _run(second, 5, "4242")
    _run(other, 6, "1")
    one, two = _files(first), _files(second)
    assert any(name.endswith("users.parquet") for name in one)
    assert any(name.startswith("truth/findings") for name in one)
    assert one.keys() == two.keys()
    differing = [name for name in one if one[name] != two[name]]
    assert differing == []
    cycle = sorted((first / "exports" / "system=idp").iterdir())[0].name
    users = "exports/system=idp/" + cycle + "/kind=full/users.parquet"
    assert one[users] != _files(other)[users]
    ids = set(pl.read_parquet(first / users)["id"].to_list())
    assert not ids & set(pl.read_parquet(other / users)["id"].to_list())
