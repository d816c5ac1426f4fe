"""Fixtures of the validate tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.store import Store
from tests.validate.helpers import Exports


@pytest.fixture
def exports(store: Store, tmp_path: Path) -> Exports:
    """Imports hand-written resources into the test's data folder."""
    return Exports(store, tmp_path)
