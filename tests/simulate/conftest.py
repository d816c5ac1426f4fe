"""Simulations shared by the tests of this folder (one per profile, written once per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.simulate import simulate

USERS, CYCLES, SEED = 300, 5, 1


class Sim:
    """One simulated data folder and helpers to read it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.meta: dict[str, Any] = json.loads((root / "truth" / "simulation.json").read_text())
        self.cycles: list[str] = [c["id"] for c in self.meta["cycles"]]
        self.targets: list[str] = self.meta["targets"]

    def export(self, system: str, cycle: str, kind: str = "full") -> Path:
        return self.root / "exports" / f"system={system}" / f"cycle={cycle}" / f"kind={kind}"

    def table(self, system: str, cycle: str, name: str, kind: str = "full") -> pl.DataFrame:
        return pl.read_parquet(self.export(system, cycle, kind) / f"{name}.parquet")

    def manifest(self, system: str, cycle: str, kind: str = "full") -> dict[str, Any]:
        return json.loads((self.export(system, cycle, kind) / "manifest.json").read_text())  # type: ignore[no-any-return]

    def findings(self, target: str, cycle: str) -> pl.DataFrame:
        path = self.root / "truth" / "findings" / "source=idp" / f"target={target}" / f"cycle={cycle}"
        return pl.read_parquet(path / "findings.parquet")

    def deltas(self, cycle: str) -> pl.DataFrame:
        return pl.read_parquet(
            self.root / "truth" / "deltas" / "system=idp" / f"head={cycle}" / "delta_findings.parquet"
        )


@pytest.fixture(scope="session")
def sims(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sim]:
    """clean, typical and hostile at 300 users over 5 cycles, seed 1."""
    out = {}
    for profile in ("clean", "typical", "hostile"):
        root = tmp_path_factory.mktemp(f"sim-{profile}")
        simulate(root, users=USERS, cycles=CYCLES, seed=SEED, profile=profile)
        out[profile] = Sim(root)
    return out
