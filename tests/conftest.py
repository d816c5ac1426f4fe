"""Shared fixtures. Fixtures that start a real SCIM server live in tests/scim_server.py."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from recon.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty data folder."""
    return Store(tmp_path / "data")


# --- live SCIM server fixtures (owner: extract; see tests/scim_server.py for usage) -------------
from collections.abc import Iterator  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from scim_server import ScimServer, ScimServerFactory, scim_server_factory  # noqa: E402

# rich: more users than its maxPageSize and filter.maxResults (1,000), so probe sees the cap; it
# seeds through /Bulk in ~2 s. limited has no bulk: one POST a user (~4 ms quiet, 25 s at load 10
# for 2,000), and 500 still make five pages at its maxPageSize of 100.
SEEDED_USERS = {"rich": 2000, "limited": 500}
SEEDED_GROUPS = 50


@pytest.fixture
def scim_server() -> Iterator[ScimServerFactory]:
    """Factory: ``scim_server("rich"|"limited"|spc_dict, users=N, groups=G)`` -> ScimServer."""
    with scim_server_factory() as factory:
        yield factory


@pytest.fixture(scope="module")
def scim_server_module() -> Iterator[ScimServerFactory]:
    """The ``scim_server`` factory with module scope."""
    with scim_server_factory() as factory:
        yield factory


@pytest.fixture(scope="session")
def _seeded_scim_servers() -> Iterator[dict[str, ScimServer]]:
    """Both read-only servers, started and seeded in parallel (each server is its own process)."""
    with scim_server_factory() as factory, ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(factory, name, users=users, groups=SEEDED_GROUPS)
            for name, users in SEEDED_USERS.items()
        }
        yield {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="session")
def rich_scim_server(_seeded_scim_servers: dict[str, ScimServer]) -> ScimServer:
    """Read-only scim2-server, rich profile, seeded with 2,000 users and 50 groups."""
    return _seeded_scim_servers["rich"]


@pytest.fixture(scope="session")
def limited_scim_server(_seeded_scim_servers: dict[str, ScimServer]) -> ScimServer:
    """Read-only scim2-server, limited profile (no bulk/filter, maxPageSize 100), 500 users, 50 groups."""
    return _seeded_scim_servers["limited"]


# --- recon demo, run once per session as the README's first command runs it ---------------------


@dataclass(frozen=True)
class DemoRun:
    """One `recon demo` subprocess run with its defaults: exit code, output and data folder."""

    returncode: int
    stdout: str
    stderr: str
    data_dir: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`recon demo --data-dir TMP` in a fresh interpreter (shared by the demo and notebook tests)."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    done = subprocess.run(
        [sys.executable, "-m", "recon", "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return DemoRun(done.returncode, done.stdout, done.stderr, data_dir)


# --- pytest-xdist: tests that share a fixture run on one worker (see tests/xdist_groups.py) -------
from xdist_groups import (  # noqa: E402, F401
    pytest_collection_modifyitems,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
)
