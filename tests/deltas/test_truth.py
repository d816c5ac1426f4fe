"""recon deltas equals the simulator's truth/deltas exactly, on every profile."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from recon.deltas import deltas
from recon.scim.filter import matches, parse
from recon.simulate import PROFILES, simulate
from recon.store import Store

KEY = ["kind", "resource_type", "id", "name", "base_last_modified", "head_last_modified"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("seed", [1, 2])
def test_delta_findings_equal_the_truth(tmp_path: Path, profile: str, seed: int) -> None:
    out = tmp_path / "sim"
    simulate(out, users=250, cycles=3, seed=seed, profile=profile)
    store = Store(out)
    heads = store.cycles("idp", "delta")
    assert len(heads) == 2
    for head in heads:
        summary = deltas(store, "idp", head=head)
        truth_dir = out / "truth" / "deltas" / "system=idp" / f"head={head}"
        mine = pl.read_parquet(summary.findings_path).select(KEY).sort(KEY, nulls_last=True)
        truth = pl.read_parquet(truth_dir / "delta_findings.parquet").select(KEY).sort(KEY, nulls_last=True)
        assert mine.to_dicts() == truth.to_dicts(), f"{profile} seed {seed} head {head}"
        expected = json.loads((truth_dir / "summary.json").read_text())
        assert summary.completeness == pytest.approx(expected["completeness"])
        assert summary.changed_or_created == expected["changed_or_created"]
        assert summary.returned_of_those == expected["returned_of_those"]
        assert {k: v for k, v in summary.counts.items() if v} == expected["by_kind"]


def _caught(watermark: datetime, stamps: list[datetime], lag: int) -> int:
    """How many of ``stamps`` satisfy ``meta.lastModified gt (watermark - lag)`` (recon's evaluator)."""
    since = (watermark - timedelta(seconds=lag)).isoformat().replace("+00:00", "Z")
    flt = parse(f'meta.lastModified gt "{since}"')
    return sum(matches(flt, {"meta": {"lastModified": t.isoformat()}}, "User") for t in stamps)


def test_the_lag_found_catches_every_boundary_miss(tmp_path: Path) -> None:
    """Re-evaluate `meta.lastModified gt (watermark - lag)` on the head export: every boundary miss matches
    with the reported lag, and one second less leaves one out."""
    out = tmp_path / "sim"
    simulate(out, users=400, cycles=3, seed=5, profile="hostile")
    store = Store(out)
    checked = 0
    for head in store.cycles("idp", "delta"):
        summary = deltas(store, "idp", head=head)
        if not summary.boundary_misses:
            continue
        checked += 1
        frame = pl.read_parquet(summary.findings_path)
        missed = frame.filter(
            pl.col("kind").is_in(["missed_change", "missed_creation"]),
            pl.col("head_last_modified").is_not_null(),
            (pl.col("base_last_modified").is_null())
            | (pl.col("head_last_modified") > pl.col("base_last_modified")),
        )
        watermark = pl.Series([summary.watermark]).str.to_datetime(time_zone="UTC")[0]
        boundary = missed.filter(pl.col("head_last_modified") <= watermark)
        assert boundary.height == summary.boundary_misses

        stamps = list(boundary["head_last_modified"])
        caught = partial(_caught, watermark, stamps)
        lag = summary.watermark_lag_seconds
        assert lag is not None and lag >= 1
        assert caught(lag) == boundary.height
        assert caught(lag - 1) < boundary.height
    assert checked, "the hostile profile produced no boundary miss to check"
