"""The Spark engine session: the Session interface on Spark local[2], checked against DuckDB's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recon.engine import Parquet, open_session
from recon.engine.spark import SparkEngineSession, hive_base
from recon.errors import UsageError
from recon.schemas import FINDINGS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FETCHED = pa.schema([("resource", pa.string()), ("id", pa.string())])


def _findings(rows: list[tuple[str, str, str | None]]) -> pa.Table:
    empty = dict.fromkeys(FINDINGS.names)
    return pa.Table.from_pylist(
        [{**empty, "kind": k, "severity": s, "source_id": i, "detail": "d"} for k, s, i in rows],
        schema=FINDINGS,
    )


def test_a_result_keeps_its_rows_when_the_same_statement_runs_again(spark: SparkSession) -> None:
    with SparkEngineSession(spark) as session:
        first = session.run(
            "extract_fetched_ids",
            inputs={"fetched_ids": pa.table({"resource": ["Users"] * 2, "id": ["1", "1"]})},
        )
        second = session.run(
            "extract_fetched_ids",
            inputs={"fetched_ids": pa.table({"resource": ["Groups", "Users"], "id": ["g", "2"]})},
        )
        assert sorted(session.tuples(second)) == [("Groups", 1, 1), ("Users", 1, 1)]
        assert session.tuples(first) == [("Users", 2, 1)]


def test_a_statement_gives_the_rows_duckdb_gives(spark: SparkSession) -> None:
    findings = _findings(
        [
            ("orphaned_in_target", "critical", None),
            ("missing_in_target", "high", "u2"),
            ("missing_in_target", "high", "u1"),
        ]
        + [("missing_in_target", "high", f"u{n}") for n in range(3, 9)]
    )
    with open_session() as duck, SparkEngineSession(spark) as sparky:
        for name, params in (("reconcile_counts", None), ("reconcile_examples", {"per_kind": 2})):
            expected = duck.rows(duck.run(name, params, {"findings": findings}))
            got = sparky.rows(sparky.run(name, params, {"findings": findings}))
            key = lambda row: sorted((k, str(v)) for k, v in row.items())  # noqa: E731
            assert sorted(got, key=key) == sorted(expected, key=key), name
            assert got


def test_parameters_are_bound_not_spliced(spark: SparkSession) -> None:
    hostile = "x'; DROP TABLE t; --"
    with SparkEngineSession(spark) as session:
        out = session.query("SELECT $v AS v FROM t", {"v": hostile}, {"t": pa.table({"a": [1]})})
        assert session.tuples(out) == [(hostile,)]


def test_fp64_is_a_64_bit_fingerprint_with_a_constant_for_null(spark: SparkSession) -> None:
    ids = [f"user-{n}" for n in range(200)]
    with SparkEngineSession(spark) as session:
        out = session.rows(
            session.query("SELECT id, fp64(id) AS h FROM t", None, {"t": pa.table({"id": [*ids, None]})})
        )
    prints = {row["id"]: row["h"] for row in out}
    assert len({prints[i] for i in ids}) == len(ids)
    assert any(abs(h) >= 2**32 for h in prints.values())  # Spark's hash() never leaves 32 bits
    assert prints[None] is not None


def test_the_hive_layout_is_read_as_it_is_with_partition_columns_as_text(
    spark: SparkSession, tmp_path: Path
) -> None:
    paths = []
    for source, cycle in (("idp", "20240101"), ("idp", "20240102T000000Z")):
        folder = tmp_path / "findings" / f"source={source}" / "target=app" / f"cycle={cycle}"
        folder.mkdir(parents=True)
        pq.write_table(_findings([("missing_in_target", "high", cycle)]), folder / "findings.parquet")
        paths.append(folder / "findings.parquet")
    files = Parquet.of(*paths, hive_types={"source": "VARCHAR", "cycle": "VARCHAR"})
    assert hive_base([str(p) for p in paths]) == str(tmp_path / "findings")
    with SparkEngineSession(spark) as session:
        table = session.arrow(session.bind(files))
    assert table.column_names == [*FINDINGS.names, "source", "cycle"]  # target= is not asked for
    assert table.schema.field("cycle").type == pa.string()
    assert sorted(table.column("cycle").to_pylist()) == ["20240101", "20240102T000000Z"]


def test_write_parquet_gives_the_bytes_duckdb_gives(spark: SparkSession, tmp_path: Path) -> None:
    rows = _findings([("missing_in_target", "high", f"u{n:04d}") for n in range(3000)])
    with open_session() as duck, SparkEngineSession(spark) as sparky:
        for session, name in ((duck, "duck"), (sparky, "spark")):
            ordered = session.query("SELECT * FROM f ORDER BY source_id", None, {"f": rows})
            assert session.write_parquet(ordered, tmp_path / f"{name}.parquet", FINDINGS) == 3000
    assert (tmp_path / "spark.parquet").read_bytes() == (tmp_path / "duck.parquet").read_bytes()
    assert not list(tmp_path.glob(".*spark-*"))  # Spark's own folder is gone


def test_timestamps_come_back_in_utc(spark: SparkSession) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with SparkEngineSession(spark) as session:
        out = session.rows(
            session.query(
                "SELECT $t AS t, t2 FROM x",
                {"t": when},
                {"x": pa.table({"t2": pa.array([when], pa.timestamp("us", tz="UTC"))})},
            )
        )
    assert out == [{"t": when, "t2": when}]


def test_a_duckdb_only_statement_is_refused_with_what_to_do(spark: SparkSession) -> None:
    with SparkEngineSession(spark) as session, pytest.raises(UsageError, match="raw JSON"):
        session.run(
            "reconcile_user_raw_values",
            {"only_pairs": False},
            {
                name: pa.table({"x": [1]})
                for name in ("source_users", "target_users", "compare_spec", "attribute_pairs")
            },
        )
    with SparkEngineSession(spark) as session, pytest.raises(UsageError, match="--engine duckdb"):
        session.query("SELECT list_distinct(a) AS a FROM t", None, {"t": pa.table({"a": [[1]]})})


def test_release_unpersists_a_kept_frame_only(spark: SparkSession) -> None:
    session = SparkEngineSession(spark)
    given = session.bind(pa.table({"resource": ["Users"], "id": ["1"]}))
    kept = session.run("extract_fetched_ids", inputs={"fetched_ids": given}, keep=True)
    later = session.keep(given)
    session.release(kept)
    session.release(given)  # not kept: left as it is
    assert session.tuples(later) == [("Users", "1")]
    assert session.tuples(given) == [("Users", "1")]
    assert len(session._kept) == 1  # the released frame is no longer held until close
    session.close()


def test_count_gives_the_rows_duckdb_counts(spark: SparkSession) -> None:
    given = pa.table({"resource": ["Users", "Users", "Groups"], "id": ["1", "2", "g"]})
    counts = []
    for session in (SparkEngineSession(spark), open_session()):
        lazy = session.run("extract_fetched_ids", inputs={"fetched_ids": given})
        counts.append((session.count(lazy), session.count(session.keep(session.bind(given)))))
        counts.append(session.count(session.bind(FETCHED.empty_table())))
        session.close()
    assert counts == [(2, 3), 0, (2, 3), 0]
