"""Shared data for the audit tests: one small simulation, copied per test (the audit writes into it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recon.simulate import simulate


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated IdP and two apps: 150 users, 3 cycles (read-only: copy it with ``sim_copy``)."""
    root = tmp_path_factory.mktemp("sim") / "data"
    simulate(root, users=150, cycles=3, seed=7, profile="typical", force=True)
    return root


@pytest.fixture
def sim_copy(simulated: Path, tmp_path: Path) -> Path:
    """A private copy of the simulation that a test may audit (and so write into)."""
    target = tmp_path / "data"
    shutil.copytree(simulated, target)
    return target
