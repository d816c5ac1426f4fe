from __future__ import annotations

import pytest
from history import scenario, simulation

from recon.store import Store


@pytest.fixture(scope="session")
def scenario_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The hand-made four-cycle scenario of tests/history/scenario.py."""
    return scenario.shared(tmp_path_factory)


@pytest.fixture(scope="session")
def simulated_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Demo-like data: a multi-cycle simulation reconciled by the engine."""
    return simulation.shared(tmp_path_factory)
