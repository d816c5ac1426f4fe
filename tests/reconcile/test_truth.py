"""On simulated directories, reconcile's findings equal the simulator's truth exactly."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from recon.config import load_config
from recon.reconcile import reconcile
from recon.simulate import SimulationSummary, simulate
from recon.store import Store

KEY = ["kind", "severity", "source_id", "target_id", "group_id", "target_group_id", "attribute"]


def _rows(path: Path) -> set[tuple[str | None, ...]]:
    frame = pl.read_parquet(path, hive_partitioning=False)
    return {tuple(row[c] for c in KEY) for row in frame.iter_rows(named=True)}


Simulated = Callable[[str, int, Path], SimulationSummary]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    """``simulated(profile, seed, out)``: a copy at ``out`` of that simulation, simulated once per module
    (two cases read the same directory with users from the exports; reconcile writes into it)."""
    made: dict[tuple[str, int], tuple[Path, SimulationSummary]] = {}

    def copy(profile: str, seed: int, out: Path) -> SimulationSummary:
        if (profile, seed) not in made:
            root = tmp_path_factory.mktemp(f"sim-{profile}-{seed}") / "sim"
            summary = simulate(root, users=150, groups=15, cycles=2, seed=seed, profile=profile)
            made[profile, seed] = root, summary
        root, summary = made[profile, seed]
        shutil.copytree(root, out)
        return summary

    return copy


@pytest.mark.parametrize(
    ("profile", "seed", "users_in_memory"),
    [
        ("clean", 7, None),
        ("typical", 7, None),
        ("typical", 2026, None),
        ("hostile", 7, None),
        ("hostile", 2026, None),
        # users read from the exports by every step, as when they do not fit in memory
        ("clean", 7, False),
        ("hostile", 2026, False),
    ],
)
def test_findings_equal_truth(
    tmp_path: Path, simulated: Simulated, profile: str, seed: int, users_in_memory: bool | None
) -> None:
    out = tmp_path / "sim"
    simulation = simulated(profile, seed, out)
    store = Store(out)
    config = load_config(out / "recon.toml")
    truths = sorted((out / "truth" / "findings").glob("source=*/target=*/cycle=*/findings.parquet"))
    assert truths, "the simulator wrote no truth findings"
    assert sum(simulation.traps.values()) > 0, "no equivalence traps were injected"
    total = 0
    for truth in truths:
        source, target, cycle = (part.split("=", 1)[1] for part in truth.parts[-4:-1])
        summary = reconcile(store, source, target, cycle, config, users_in_memory=users_in_memory)
        got, expected = _rows(summary.findings_path), _rows(truth)
        total += len(got)
        missing, extra = sorted(expected - got, key=str), sorted(got - expected, key=str)
        assert not missing and not extra, (
            f"{profile} seed {seed} {source}->{target} cycle {cycle}: "
            f"{len(missing)} truth rows not found (first: {missing[:5]}), "
            f"{len(extra)} extra (first: {extra[:5]})"
        )
    if profile == "clean":  # traps only: not one of them may be a finding
        assert total == 0
    else:
        assert total > 0
