"""tests/xdist_groups.py on a small suite run by pytest-xdist in a subprocess: a wide fixture is
built once, on one worker, and the Spark group goes out first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

CONFTEST = f"""
import os, sys
import pytest
sys.path.insert(0, {str(TESTS)!r})
from xdist_groups import (
    pytest_collection_modifyitems, pytest_configure_node, pytest_unconfigure, pytest_xdist_make_scheduler,
)

def log(line):
    with open(os.environ["SETUP_LOG"], "a") as f:
        f.write(f"{{os.getpid()}} {{line}}\\n")

@pytest.fixture(scope="session")
def spark():
    log("setup spark")

@pytest.fixture(autouse=True)
def _started(request):
    log("test " + request.node.nodeid)
"""

PARITY = """
import pytest
from conftest import log

@pytest.fixture(scope="module", params=["clean", "typical", "hostile"])
def profile(request, spark):
    log("setup profile " + request.param)

@pytest.mark.parametrize("frame", range(4))
def test_history(profile, frame): pass

def test_deltas(profile): pass
"""

# two module fixtures, each shared by more tests than the Spark group: by xdist's order (largest
# group first) both workers would start with one of them and the Spark group would come third
WIDE = """
import pytest
from conftest import log

@pytest.fixture(scope="module")
def simulation(request):
    log("setup simulation " + request.module.__name__)

@pytest.mark.parametrize("i", range(20))
def test_wide(simulation, i): pass
"""

# three pytest processes start: without the plugins the small suite does not use
UNUSED = ("cacheprovider", "nbmake", "anyio", "hypothesispytest", "typeguard")
NO_PLUGINS = [f"-pno:{name}" for name in UNUSED]

ALONE = "\n".join(f"def test_alone_{i}(): pass" for i in range(20))


def _run(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_alone.py").write_text(ALONE)
    (tmp_path / "test_parity.py").write_text(PARITY)
    (tmp_path / "test_wide_a.py").write_text(WIDE)
    (tmp_path / "test_wide_b.py").write_text(WIDE)
    setup_log = tmp_path / "setups.log"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", *NO_PLUGINS],
        cwd=tmp_path,
        env={**os.environ, "SETUP_LOG": str(setup_log)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "75 passed" in done.stdout
    return [tuple(line.split(" ", 1)) for line in setup_log.read_text().splitlines()]  # type: ignore[misc]


def test_a_wide_fixture_is_built_once_on_one_worker_and_spark_goes_first(tmp_path: Path) -> None:
    lines = _run(tmp_path)
    setups = sorted(what for _, what in lines if what.startswith("setup"))
    assert setups == [
        "setup profile clean",
        "setup profile hostile",
        "setup profile typical",
        "setup simulation test_wide_a",
        "setup simulation test_wide_b",
        "setup spark",
    ]
    workers = {
        name: {pid for pid, what in lines if what.startswith(f"test test_{name}.py")}
        for name in ("parity", "wide_a", "wide_b")
    }
    assert all(len(pids) == 1 for pids in workers.values())  # one group, one worker
    (spark_worker,) = workers["parity"]
    first = next(what for pid, what in lines if pid == spark_worker)
    assert first == "setup spark"  # the Spark group first on its worker, before any other test
