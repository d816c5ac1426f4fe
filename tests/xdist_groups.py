"""pytest-xdist: tests that share a fixture wider than one test run on one worker, Spark's first.

The suite runs on the workers and ``--dist loadgroup`` of pyproject.toml's addopts. A session fixture of
tests/ (the Spark session, the demo run, the seeded SCIM servers, the shared simulations) or a
module fixture is then built on one worker only, once, as in a serial run, and only one Spark JVM
starts; tests that share none are handed out one by one.

pytest-xdist's own loadgroup learns a test's group from a suffix that the worker writes into the
test's node id; pytest 9.2 keeps node ids as structured values and ignores that write, so every
test was handed out alone and each worker built every wide fixture (two Spark JVMs, the parity
fixture set up once per worker per profile; pytest-xdist issue #1386). Here each worker writes
the groups to a file in a folder the controller names, and the controller's scheduler (xdist's
loadgroup scheduler with the group read from that file) hands each group out whole. Groups go
out largest first (xdist's order), except the Spark group, the longest (40-55% of one
worker's time), which goes first so that it does not start late and leave the other workers idle.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

_FOLDER = pytest.StashKey[Path]()
# fixtures whose group goes out first: the longest group (the Spark parity profiles)
FIRST = frozenset({"spark"})


def shared_fixture_groups(items: list[pytest.Item], own: Path) -> tuple[dict[str, str], list[str]]:
    """``({nodeid: group}, groups to hand out first)`` for tests that share a fixture wider than one
    test defined under ``own`` (the rootdir, not pytest's or a plugin's); tests sharing nothing are left
    out (each is its own unit)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared: dict[str, list[str]] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        keys = []
        for name in info.names_closure:
            definitions = info.name2fixturedefs.get(name)
            if not definitions or definitions[-1].scope == "function":
                continue
            source = inspect.getsourcefile(definitions[-1].func)
            path = None if source is None else Path(source).resolve()
            if path is None or not path.is_relative_to(own) or "site-packages" in path.parts:
                continue  # pytest's own wide fixtures (tmp_path_factory) cost nothing to share
            scope = definitions[-1].scope
            owner = {"session": "", "package": definitions[-1].baseid}.get(scope, item.nodeid.split("::")[0])
            keys.append(f"{owner}::{name}" if owner else name)
        if keys:
            shared[item.nodeid] = keys
            for key in keys[1:]:
                parent[root(key)] = root(keys[0])
    groups = {nodeid: root(keys[0]) for nodeid, keys in shared.items()}
    first = sorted({root(key) for key in FIRST if key in parent})
    return groups, first


class SharedFixtureScheduling(LoadScopeScheduling):
    """xdist's loadgroup scheduling, with each test's group read from the workers' file."""

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self._folder = folder
        self._groups: dict[str, str] | None = None
        self._first: list[str] = []

    def schedule(self) -> None:
        if self._groups is None and self.collection_is_completed:
            files = sorted(self._folder.glob("*.json"))
            if not files:
                raise RuntimeError(f"no worker wrote its test groups to {self._folder}")
            written = json.loads(files[0].read_text())
            self._groups, self._first = written["groups"], written["first"]
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        return (self._groups or {}).get(nodeid, nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        for group in reversed(self._first):  # once: the queue is built in schedule(), then only popped
            if group in self.workqueue:
                self.workqueue.move_to_end(group, last=False)
        self._first = []
        super()._assign_work_unit(node)


def _folder(config: pytest.Config) -> Path | None:
    """The controller's folder for the workers' group files (made at first use), None if not loadgroup."""
    if config.getoption("dist", None) != "loadgroup":
        return None
    if _FOLDER not in config.stash:
        config.stash[_FOLDER] = Path(tempfile.mkdtemp(prefix="recon-xdist-groups-"))
    return config.stash[_FOLDER]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    folder = _folder(node.config)
    if folder is not None:
        node.workerinput["recon_xdist_groups"] = str(folder)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    folder = _folder(config)
    return None if folder is None else SharedFixtureScheduling(config, log, folder)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    folder = getattr(config, "workerinput", {}).get("recon_xdist_groups")
    if folder is None:
        return  # one process, or not --dist loadgroup
    groups, first = shared_fixture_groups(items, config.rootpath.resolve())
    written = Path(folder) / f"{config.workerinput['workerid']}.json"
    partial = written.with_suffix(".part")
    partial.write_text(json.dumps({"groups": groups, "first": first}))
    partial.replace(written)  # the controller never reads half a file


def pytest_unconfigure(config: pytest.Config) -> None:
    if _FOLDER in config.stash:
        shutil.rmtree(config.stash[_FOLDER], ignore_errors=True)
