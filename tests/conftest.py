"""Shared fixtures. Fixtures that start a real SCIM server live in tests/scim_server.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty data folder."""
    return Store(tmp_path / "data")
