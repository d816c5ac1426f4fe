from __future__ import annotations

import pytest
from history import simulation

from recon.store import Store


@pytest.fixture(scope="session")
def notebook_data(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Demo-like data the notebooks open (via $RECON_DATA_DIR): a simulation reconciled by the engine."""
    return simulation.shared(tmp_path_factory)
