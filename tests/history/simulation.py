"""One multi-cycle simulation, reconciled by the real engine, shared by the tests of a session."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from recon.config import load_config
from recon.store import Store

TARGETS = ("slack", "github")
_BUILT: dict[str, Store] = {}


def _simulate() -> Any:
    from recon.simulate import simulate

    return simulate


def shared(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A 300-user, 6-cycle 'typical' simulation with findings (and delta findings when
    recon.deltas.run exists) for every cycle; built once per session, read-only for tests."""
    if "store" not in _BUILT:
        simulate = _simulate()
        from recon.reconcile import reconcile

        out = Path(tmp_path_factory.mktemp("simulation")) / "data"
        simulate(out, users=300, cycles=6, seed=11, profile="typical", targets=TARGETS)
        store = Store(out)
        config = load_config(out / "recon.toml")
        for target in TARGETS:
            for cycle in store.cycles(target):
                reconcile(store, "idp", target, cycle, config=config)
        try:
            deltas = importlib.import_module("recon.deltas.run").deltas
        except (ModuleNotFoundError, AttributeError):
            deltas = None  # the notebooks and report then show "no delta findings recorded"
        if deltas is not None:
            for head in store.cycles("idp", "delta"):
                deltas(store, "idp", head=head)
        _BUILT["store"] = store
    return _BUILT["store"]
