"""The engine session (recon.engine.Session) on DuckDB: the lazy-view trap and the interface."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recon
from recon import engine
from recon.engine import Parquet, Session, open_session
from recon.engine.duckdb import ARROW_ALLOWANCE, with_inputs
from recon.errors import SqlFileError

FETCHED = pa.schema([("resource", pa.string()), ("id", pa.string())])


def _ledger(path: Path, rows: list[tuple[str, str]]) -> Path:
    pq.write_table(pa.Table.from_pylist([{"resource": r, "id": i} for r, i in rows], schema=FETCHED), path)
    return path


@pytest.fixture
def session() -> Session:
    with open_session() as opened:
        yield opened


def test_a_result_keeps_its_rows_when_the_same_statement_runs_again(session: Session, tmp_path: Path) -> None:
    # the trap of issue 17: two runs of one statement on one connection, the first result read last
    first = session.run(
        "extract_fetched_ids",
        inputs={"fetched_ids": Parquet.of(_ledger(tmp_path / "a.parquet", [("Users", "1"), ("Users", "1")]))},
    )
    second = session.run(
        "extract_fetched_ids",
        inputs={
            "fetched_ids": Parquet.of(_ledger(tmp_path / "b.parquet", [("Groups", "g"), ("Users", "2")]))
        },
    )
    assert session.tuples(second) == [("Groups", 1, 1), ("Users", 1, 1)]
    assert session.tuples(first) == [("Users", 2, 1)]


def test_a_result_read_as_input_keeps_its_rows_when_its_input_name_is_rebound(session: Session) -> None:
    small = session.run(
        "extract_fetched_ids", inputs={"fetched_ids": pa.table({"resource": ["a"], "id": ["1"]})}
    )
    renamed = session.query(
        "SELECT resource || '!' AS resource, resource AS id FROM fetched_ids", None, {"fetched_ids": small}
    )
    chained = session.run("extract_fetched_ids", inputs={"fetched_ids": renamed})
    session.run("extract_fetched_ids", inputs={"fetched_ids": pa.table({"resource": ["zz"], "id": ["9"]})})
    assert session.tuples(chained) == [("a!", 1, 1)]
    assert session.tuples(small) == [("a", 1, 1)]


def test_params_are_bound_and_checked_against_the_header(session: Session) -> None:
    with pytest.raises(SqlFileError, match=r"missing \$per_kind"):
        session.run("reconcile_examples", {}, {"findings": pa.table({"kind": ["x"]})})
    with pytest.raises(SqlFileError, match=r"inputs given do not match the header; missing fetched_ids"):
        session.run("extract_fetched_ids", None, {})
    with pytest.raises(SqlFileError, match=r"not declared \$x"):
        session.run(
            "extract_fetched_ids", {"x": 1}, {"fetched_ids": pa.table({"resource": ["a"], "id": ["1"]})}
        )


def test_a_parameter_value_is_bound_not_spliced(session: Session) -> None:
    hostile = "x'; DROP TABLE t; --"
    out = session.query("SELECT $v AS v FROM t", {"v": hostile}, {"t": pa.table({"a": [1]})})
    assert session.tuples(out) == [(hostile,)]


def test_inputs_of_every_kind_bind(session: Session, tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.parquet", [("Users", "1")])
    for source in (
        Parquet.of(path),
        pq.read_table(path),
        pl.read_parquet(path),
        session.bind(Parquet.of(path)),
        session.bind(pq.read_table(path)),
    ):
        assert session.tuples(session.run("extract_fetched_ids", inputs={"fetched_ids": source})) == [
            ("Users", 1, 1)
        ], source


def test_hive_partition_columns_are_typed_as_declared(session: Session, tmp_path: Path) -> None:
    for cycle in ("20260101", "20260102"):
        folder = tmp_path / "exports" / "system=idp" / f"cycle={cycle}"
        folder.mkdir(parents=True)
        _ledger(folder / "ids.parquet", [("Users", cycle)])
    files = Parquet.of(
        tmp_path / "exports/*/*/ids.parquet", hive_types={"system": "VARCHAR", "cycle": "VARCHAR"}
    )
    out = session.query("SELECT cycle, system, typeof(cycle) AS t FROM f ORDER BY cycle", None, {"f": files})
    assert session.tuples(out) == [("20260101", "idp", "VARCHAR"), ("20260102", "idp", "VARCHAR")]


def test_fetch_as_rows_tuples_arrow_polars_and_batches(session: Session) -> None:
    given = pa.table({"resource": ["Users", "Users", "Groups"], "id": ["1", "2", "g"]})
    result = session.run("extract_fetched_ids", inputs={"fetched_ids": given})
    assert result.columns == ["resource", "fetched", "unique_ids"]
    assert session.rows(result) == [
        {"resource": "Groups", "fetched": 1, "unique_ids": 1},
        {"resource": "Users", "fetched": 2, "unique_ids": 2},
    ]
    assert session.arrow(result).column("resource").to_pylist() == ["Groups", "Users"]
    assert session.polars(result)["fetched"].to_list() == [1, 2]
    assert sum(b.num_rows for b in session.batches(result, 1)) == 2
    assert all(b.num_rows <= 1 for b in session.batches(result, 1))


def test_keep_computes_now_and_survives_its_inputs_changing(session: Session, tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.parquet", [("Users", "1")])
    kept = session.run("extract_fetched_ids", inputs={"fetched_ids": Parquet.of(path)}, keep=True)
    _ledger(path, [("Groups", "1"), ("Groups", "2")])  # the file the statement read is replaced
    assert session.tuples(kept) == [("Users", 1, 1)]
    assert session.tuples(session.keep(session.bind(Parquet.of(path)))) == [("Groups", "1"), ("Groups", "2")]


def test_release_frees_a_kept_table_and_leaves_others_alone(session: Session) -> None:
    def tables() -> list[tuple[object, ...]]:
        return session.tuples(session.query("SELECT count(*) FROM duckdb_tables()", None, {}))

    given = session.bind(pa.table({"resource": ["Users"], "id": ["1"]}))
    kept = session.run("extract_fetched_ids", inputs={"fetched_ids": given}, keep=True)
    later = session.run("extract_fetched_ids", inputs={"fetched_ids": given}, keep=True)
    assert tables() == [(2,)]
    session.release(kept)
    session.release(given)  # not kept: nothing to free, still readable
    assert tables() == [(1,)]
    assert session.tuples(later) == [("Users", 1, 1)]
    assert session.tuples(given) == [("Users", "1")]


def test_count_gives_the_rows_of_a_lazy_kept_or_empty_table(session: Session, tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.parquet", [("Users", "1"), ("Users", "2"), ("Groups", "g")])
    lazy = session.run("extract_fetched_ids", inputs={"fetched_ids": Parquet.of(path)})
    assert session.count(lazy) == 2  # two resources, not three ids
    assert session.count(session.keep(session.bind(Parquet.of(path)))) == 3
    assert session.count(session.bind(FETCHED.empty_table())) == 0


def test_union_all_keeps_duplicates_in_order(session: Session) -> None:
    a = session.bind(pa.table({"x": [1, 2]}))
    b = session.bind(pa.table({"x": [2]}))
    assert sorted(session.tuples(session.union_all(a, b))) == [(1,), (2,), (2,)]


def test_write_parquet_casts_to_the_schema_and_gives_the_same_bytes(session: Session, tmp_path: Path) -> None:
    schema = pa.schema([("resource", pa.string()), ("fetched", pa.int64()), ("unique_ids", pa.int64())])
    given = pa.table({"resource": [f"r{i:05}" for i in range(40_000)], "id": ["x"] * 40_000})
    result = session.run("extract_fetched_ids", inputs={"fetched_ids": given})
    assert session.write_parquet(result, tmp_path / "a.parquet", schema) == 40_000
    assert session.write_parquet(result, tmp_path / "b.parquet", schema) == 40_000
    assert pq.read_schema(tmp_path / "a.parquet") == schema
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    empty = session.query("SELECT * FROM t WHERE false", None, {"t": given})
    assert session.write_parquet(empty, tmp_path / "e.parquet", FETCHED) == 0
    assert pq.read_table(tmp_path / "e.parquet").schema == FETCHED


SIXTEEN = ", ".join(["a", "b"] * 8)


def test_fp64_is_registered_and_64_bit(session: Session) -> None:
    out = session.query(
        "SELECT fp64(a) = hash(a) AS one, fp64(a, b) = hash(a, b) AS two, typeof(fp64(a)) AS t, "
        "fp64(NULL) IS NOT NULL AS null_print, "
        f"fp64({SIXTEEN}) = hash({SIXTEEN}) AS sixteen FROM t",
        None,
        {"t": pa.table({"a": ["x"], "b": [1]})},
    )
    assert session.rows(out) == [
        {"one": True, "two": True, "t": "UBIGINT", "null_print": True, "sixteen": True}
    ]


def test_no_sql_file_calls_hash_directly() -> None:
    # hash() is 64-bit in DuckDB and 32-bit in Spark: fingerprints go through fp64()
    offenders = []
    for path in sorted(engine.sql_dir().glob("*.sql")):
        body = engine._STRING_OR_COMMENT.sub(" ", path.read_text())
        if "hash(" in body.replace(" ", "").lower().replace("fp64(", ""):
            offenders.append(path.name)
    assert offenders == []


def test_a_table_of_another_session_is_refused(session: Session) -> None:
    with open_session() as other:
        foreign = other.bind(pa.table({"resource": ["a"], "id": ["1"]}))
        with pytest.raises(ValueError, match="another session"):
            session.run("extract_fetched_ids", inputs={"fetched_ids": foreign})


def test_memory_limit_is_set_and_readable(tmp_path: Path) -> None:
    with open_session(temp_dir=tmp_path / "tmp", memory_limit="512MB", threads=1) as limited:
        # the whole process gets 512MB: DuckDB a share of it (recon.engine.duckdb.duckdb_share)
        assert 0.24 * 512e6 <= limited.memory_limit_bytes() < 512e6 - ARROW_ALLOWANCE  # shown rounded
        settings = limited.query(
            "SELECT current_setting('threads') AS threads, current_setting('temp_directory') AS tmp FROM t",
            None,
            {"t": pa.table({"a": [1]})},
        )
        assert limited.rows(settings) == [{"threads": 1, "tmp": str(tmp_path / "tmp")}]
    assert (tmp_path / "tmp").is_dir()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * FROM t", "WITH t AS NOT MATERIALIZED (SELECT * FROM v) SELECT * FROM t"),
        (
            "-- a header\n/* c */ WITH a AS (SELECT 1) SELECT * FROM t, a",
            "-- a header\n/* c */ WITH t AS NOT MATERIALIZED (SELECT * FROM v), "
            " a AS (SELECT 1) SELECT * FROM t, a",
        ),
        (
            "with recursive r(n) AS (SELECT 1) SELECT * FROM r, t",
            "with recursive t AS NOT MATERIALIZED (SELECT * FROM v),  r(n) AS (SELECT 1) SELECT * FROM r, t",
        ),
        ("WITHIN", "WITH t AS NOT MATERIALIZED (SELECT * FROM v) WITHIN"),
    ],
)
def test_inputs_are_read_through_a_prefix_of_ctes(text: str, expected: str) -> None:
    assert with_inputs(text, {"t": "v"}) == expected


def test_row_numbers_count_each_file_from_zero(session: Session, tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.parquet", [("Users", "a"), ("Users", "b")])
    out = session.query("SELECT id, file_row_number FROM f", None, {"f": Parquet.of(path, row_numbers=True)})
    assert sorted(session.tuples(out)) == [("a", 0), ("b", 1)]


def test_a_worker_runs_on_another_thread_and_closes_alone(session: Session, tmp_path: Path) -> None:
    path = _ledger(tmp_path / "l.parquet", [("Users", "1"), ("Users", "1")])
    mine = session.run("extract_fetched_ids", inputs={"fetched_ids": Parquet.of(path)})
    with ThreadPoolExecutor(1) as pool:

        def on_worker() -> list[tuple[object, ...]]:
            with session.worker() as worker:
                zone = worker.query(
                    "SELECT current_setting('TimeZone') FROM t", None, {"t": Parquet.of(path)}
                )
                assert set(worker.tuples(zone)) == {("UTC",)}
                return worker.tuples(
                    worker.run("extract_fetched_ids", inputs={"fetched_ids": Parquet.of(path)})
                )

        theirs = pool.submit(on_worker)
        assert session.tuples(mine) == [("Users", 2, 1)]
        assert theirs.result() == [("Users", 2, 1)]
    assert session.tuples(mine) == [("Users", 2, 1)]  # the session outlives its worker


def test_engine_errors_are_named_by_the_session(session: Session, tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(session.errors):
        session.tuples(session.run("extract_fetched_ids", inputs={"fetched_ids": Parquet.of(broken)}))


def test_only_the_engine_imports_an_engine() -> None:
    # stages run SQL through a Session: duckdb (or pyspark) is imported in recon/engine/ alone
    root = Path(recon.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.parent.name == "engine":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("duckdb", "pyspark") for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
