"""Parity: reconcile, deltas and history give the same rows on Spark local[2] as on DuckDB and as
the simulator's truth, for the clean, typical and hostile profiles.

Each profile is simulated once (small: the Spark tests must stay within a few minutes). DuckDB
reconciles every cycle; a copy of that data folder then gets Spark's reconcile of the last cycle
of every target, Spark's deltas of the last head and Spark's history over all the findings. Rows
are compared as sorted sets with types normalised (timestamps as UTC ISO text, integers of any
width as int, floats rounded); summaries without the paths they name.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from recon.cli import main
from recon.config import EngineConfig, load_config
from recon.deltas import deltas
from recon.reconcile import reconcile
from recon.reports import HistorySummary, history
from recon.simulate import simulate
from recon.store import Store
from tests.engine.conftest import SPARK_TEST_ENGINE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TARGETS = ("slack",)  # one target and two cycles: Spark pays per statement, not per row
FINDING_KEY = ["kind", "severity", "source_id", "target_id", "group_id", "target_group_id", "attribute"]
DELTA_KEY = ["kind", "resource_type", "id", "name", "base_last_modified", "head_last_modified"]
DUCKDB = EngineConfig(name="duckdb")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return tuple(_value(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _value(v)) for k, v in value.items()))
    return value


def _rows(records: Iterable[dict[str, Any]], columns: list[str] | None = None) -> list[tuple[Any, ...]]:
    out = [tuple(_value(r[c]) for c in (columns or list(r))) for r in records]
    return sorted(out, key=repr)


def _file_rows(path: Path, columns: list[str] | None = None) -> list[tuple[Any, ...]]:
    return _rows(pq.read_table(path).to_pylist(), columns)


def _summary(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    for key in ("findings", "inputs", "findings_path"):
        data.pop(key, None)
    return data


@dataclass(frozen=True)
class Profile:
    name: str
    duck: Store
    spark: Store
    cycle: str
    head: str
    duck_history: HistorySummary
    spark_history: HistorySummary


@pytest.fixture(scope="module", params=["clean", "typical", "hostile"])
def profile(
    request: pytest.FixtureRequest, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Profile:
    name = request.param
    root = tmp_path_factory.mktemp(f"parity-{name}")
    simulate(root / "duckdb", users=120, groups=12, cycles=2, seed=7, profile=name, targets=TARGETS)
    duck = Store(root / "duckdb")
    config = load_config(duck.root / "recon.toml")
    for target in TARGETS:
        for cycle in duck.cycles(target):
            reconcile(duck, "idp", target, cycle, config, engine=DUCKDB)
    heads = duck.cycles("idp", "delta")
    for head in heads:
        deltas(duck, "idp", head=head, engine=DUCKDB)
    shutil.copytree(duck.root, root / "spark")
    sparky = Store(root / "spark")
    cycle = duck.cycles(TARGETS[0])[-1]
    for target in TARGETS:
        reconcile(sparky, "idp", target, cycle, config, engine=SPARK_TEST_ENGINE)
    # through the command line: --engine spark (joining the test run's SparkSession)
    argv = ["deltas", "--system", "idp", "--head", heads[-1], "--data-dir", str(sparky.root)]
    assert main([*argv, "--config", str(sparky.root / "recon.toml"), "--engine", "spark", "--json"]) in (0, 1)
    return Profile(
        name,
        duck,
        sparky,
        cycle,
        heads[-1],
        history(duck, engine=DUCKDB),
        history(sparky, engine=SPARK_TEST_ENGINE),
    )


@pytest.mark.parametrize("target", TARGETS)
def test_reconcile_rows_on_spark_equal_duckdb_and_the_truth(profile: Profile, target: str) -> None:
    spark_dir = profile.spark.findings_dir("idp", target, profile.cycle)
    duck_dir = profile.duck.findings_dir("idp", target, profile.cycle)
    spark_rows = _file_rows(spark_dir / "findings.parquet")
    assert spark_rows == _file_rows(duck_dir / "findings.parquet")  # every column
    truth = (
        profile.duck.root
        / "truth"
        / "findings"
        / "source=idp"
        / f"target={target}"
        / f"cycle={profile.cycle}"
    )
    assert _file_rows(spark_dir / "findings.parquet", FINDING_KEY) == _file_rows(
        truth / "findings.parquet", FINDING_KEY
    )
    assert _summary(spark_dir / "summary.json") == _summary(duck_dir / "summary.json")
    assert pq.read_schema(spark_dir / "findings.parquet") == pq.read_schema(duck_dir / "findings.parquet")
    if profile.name == "clean":
        assert spark_rows == []
    else:
        assert spark_rows, "no findings: the comparison would prove nothing"


def test_deltas_rows_on_spark_equal_duckdb_and_the_truth(profile: Profile) -> None:
    spark_dir = profile.spark.deltas_dir("idp", profile.head)
    duck_dir = profile.duck.deltas_dir("idp", profile.head)
    spark_rows = _file_rows(spark_dir / "delta_findings.parquet")
    assert spark_rows == _file_rows(duck_dir / "delta_findings.parquet")
    truth = profile.duck.root / "truth" / "deltas" / "system=idp" / f"head={profile.head}"
    assert _file_rows(spark_dir / "delta_findings.parquet", DELTA_KEY) == _file_rows(
        truth / "delta_findings.parquet", DELTA_KEY
    )
    assert _summary(spark_dir / "summary.json") == _summary(duck_dir / "summary.json")


@pytest.mark.parametrize(
    "frame", ["cycles", "counts", "open_drift", "leavers", "latency", "completeness", "missed"]
)
def test_history_rows_on_spark_equal_duckdb(profile: Profile, frame: str) -> None:
    spark_frame: pl.DataFrame = getattr(profile.spark_history, frame)
    duck_frame: pl.DataFrame = getattr(profile.duck_history, frame)
    assert spark_frame.columns == duck_frame.columns
    assert _rows(spark_frame.to_dicts()) == _rows(duck_frame.to_dicts())


@pytest.mark.parametrize(
    ("frame", "identity"),
    [
        ("leavers", ["source", "target", "source_id", "user_name"]),
        ("open_drift", ["source", "target", "kind", "source_id", "target_id", "group_id", "target_group_id",
                        "attribute"]),
    ],
)  # fmt: skip
def test_history_rows_on_spark_come_in_the_order_of_duckdb(
    profile: Profile, frame: str, identity: list[str]
) -> None:
    # the statements order these rows themselves (ORDER BY): Spark must sort as DuckDB does
    spark_frame: pl.DataFrame = getattr(profile.spark_history, frame)
    duck_frame: pl.DataFrame = getattr(profile.duck_history, frame)
    if frame == "open_drift" and profile.name == "clean":
        assert duck_frame.is_empty()  # a clean sync leaves no drift open: nothing to order
    else:
        assert duck_frame.height > 1
    assert spark_frame.select(identity).rows() == duck_frame.select(identity).rows()


def test_history_leavers_on_spark_equal_the_truth(profile: Profile) -> None:
    truth = pl.read_parquet(profile.duck.root / "truth" / "leavers.parquet")
    expected = sorted(
        (r["target"], r["source_id"], r["left_cycle"], r["target_resolved_cycle"])
        for r in truth.iter_rows(named=True)
    )
    got = sorted(
        (r["target"], r["source_id"], r["left_cycle"], r["resolved_cycle"])
        for r in profile.spark_history.leavers.iter_rows(named=True)
    )
    assert got == expected
