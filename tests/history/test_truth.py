"""History on a multi-cycle simulation equals the simulator's truth (leaver latency, open-drift age).

The simulator writes exports plus ``truth/`` (the exact findings and ``leavers.parquet``); the
real reconcile engine turns the exports into findings; ``history`` reads those. The expected
values come from the truth files only.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from history import simulation
from recon.reports import HistorySummary, history

IDENTITY = ("kind", "source_id", "target_id", "group_id", "target_group_id", "attribute")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HistorySummary]:
    store = simulation.shared(tmp_path_factory)
    return store.root, history(store)


def truth_cycles(root: Path, target: str) -> list[str]:
    folder = root / "truth" / "findings" / "source=idp" / f"target={target}"
    return sorted(p.name.removeprefix("cycle=") for p in folder.glob("cycle=*"))


@pytest.mark.slow
def test_leaver_latency_equals_truth(simulated: tuple[Path, HistorySummary]) -> None:
    root, summary = simulated
    truth = pl.read_parquet(root / "truth" / "leavers.parquet")
    assert truth.height > 0, "the simulation injected no leavers"
    expected = sorted(
        (r["target"], r["source_id"], r["left_cycle"], r["target_resolved_cycle"], r["deleted_cycle"])
        for r in truth.iter_rows(named=True)
    )
    got = sorted(
        (r["target"], r["source_id"], r["left_cycle"], r["resolved_cycle"], r["deleted_cycle"])
        for r in summary.leavers.iter_rows(named=True)
    )
    assert got == expected
    # latency in cycles = position of the resolving cycle minus position of the leaving cycle
    for target in ("slack", "github"):
        order = {cycle: i for i, cycle in enumerate(truth_cycles(root, target))}
        rows = summary.leavers.filter(pl.col("target") == target)
        for r in rows.iter_rows(named=True):
            if r["resolved_cycle"] is None:
                assert r["still_open"] and r["open_cycles"] == len(order) - order[r["left_cycle"]]
            else:
                assert r["latency_cycles"] == order[r["resolved_cycle"]] - order[r["left_cycle"]]


def test_open_drift_age_equals_truth(simulated: tuple[Path, HistorySummary]) -> None:
    root, summary = simulated
    for target in ("slack", "github"):
        cycles = truth_cycles(root, target)
        per_cycle = []
        for cycle in cycles:
            path = root / "truth" / "findings" / "source=idp" / f"target={target}" / f"cycle={cycle}"
            frame = pl.read_parquet(path / "findings.parquet")
            per_cycle.append({tuple(row) for row in frame.select(IDENTITY).iter_rows()})
        expected = {}
        for identity in per_cycle[-1]:
            age = 0
            while age < len(per_cycle) and identity in per_cycle[-1 - age]:
                age += 1
            expected[identity] = age
        drift = summary.open_drift.filter(pl.col("target") == target)
        got = {tuple(r[c] for c in IDENTITY): r["age"] for r in drift.iter_rows(named=True)}
        assert got == expected
        assert max(expected.values()) > 1, "no finding persisted over cycles: the test would be weak"


def test_delta_history_equals_truth(simulated: tuple[Path, HistorySummary]) -> None:
    root, summary = simulated
    truth = root / "truth" / "deltas" / "system=idp"
    heads = sorted(p.name.removeprefix("head=") for p in truth.glob("head=*"))
    assert heads, "the simulation wrote no delta truth"
    expected = {}
    for head in heads:
        frame = pl.read_parquet(truth / f"head={head}" / "delta_findings.parquet")
        expected[head] = {
            kind: frame.filter(pl.col("kind") == kind).height
            for kind in ("missed_change", "missed_creation", "stale_last_modified")
        }
    got = {
        r["head"]: {k: r[k] for k in ("missed_change", "missed_creation", "stale_last_modified")}
        for r in summary.completeness.iter_rows(named=True)
    }
    assert got == expected
    assert summary.completeness["completeness"].is_between(0, 1).all()
