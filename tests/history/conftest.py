from __future__ import annotations

import pytest

from history import scenario
from recon.store import Store


@pytest.fixture(scope="session")
def scenario_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The hand-made four-cycle scenario of history/scenario.py (read-only in tests)."""
    return scenario.shared(tmp_path_factory)
