from __future__ import annotations

import pytest
from conftest import DemoRun

from recon.store import Store


@pytest.fixture(scope="session")
def notebook_data(demo_run: DemoRun) -> Store:
    """The data `recon demo` writes: what the notebooks open by default."""
    assert demo_run.returncode == 0, demo_run.stderr
    return Store(demo_run.data_dir)
