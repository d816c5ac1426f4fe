"""Fixtures of the provider-source tests (imported by each test module: a conftest.py here would
shadow the suite's own ``conftest`` module): a small simulated directory over three cycles.

Import ``simulated_fixture`` and ``directories_fixture``; tests ask for ``simulated`` and
``directories``."""

from __future__ import annotations

from pathlib import Path

import pytest
from directory import Directory

from recon.simulate.run import simulate
from recon.store import Store


@pytest.fixture(scope="session", name="simulated")
def simulated_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str]]:
    """The simulator's IdP over three cycles (300 users), and its cycle ids."""
    root: Path = tmp_path_factory.mktemp("sim")
    simulate(root, users=300, cycles=3, seed=18)
    store = Store(root)
    return store, store.cycles("idp", "full")


@pytest.fixture(name="directories")
def directories_fixture(simulated: tuple[Store, list[str]]) -> list[Directory]:
    store, cycles = simulated
    found = [Directory.from_export(store, "idp", cycle) for cycle in cycles]
    for directory in found:
        directory.assign(users=20, groups=3)
    return found
