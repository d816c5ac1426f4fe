from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from recon import engine
from recon.engine import Parquet, Session, load_sql, open_session, sql_dir
from recon.engine.duckdb import connect
from recon.errors import SqlFileError


@pytest.fixture
def sql_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(engine, "sql_dir", lambda: tmp_path)
    load_sql.cache_clear()
    yield tmp_path
    load_sql.cache_clear()


@pytest.fixture
def session() -> Iterator[Session]:
    with open_session() as opened:
        yield opened


def _write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.sql").write_text(text)


HEADER = "-- name: {name}\n-- purpose: test\n-- inputs: {inputs}\n-- params: {params}\n"


def test_runs_a_query_with_bound_inputs_and_params(sql_folder: Path, session: Session) -> None:
    _write(
        sql_folder,
        "older_than",
        HEADER.format(name="older_than", inputs="people", params="$age")
        + "SELECT name FROM people WHERE age > $age ORDER BY name",
    )
    people = pl.DataFrame({"name": ["ann", "bob", "cy"], "age": [30, 50, 70]})
    out = session.polars(session.run("older_than", {"age": 40}, {"people": people}))
    assert out["name"].to_list() == ["bob", "cy"]


def test_undeclared_parameter_fails_at_load_naming_it(sql_folder: Path) -> None:
    _write(sql_folder, "bad", HEADER.format(name="bad", inputs="t", params="none") + "SELECT $x FROM t")
    with pytest.raises(SqlFileError, match=r"undeclared parameter\(s\) \$x"):
        load_sql("bad")


def test_unused_declared_parameter_fails_at_load_naming_it(sql_folder: Path) -> None:
    _write(sql_folder, "bad", HEADER.format(name="bad", inputs="t", params="$a, $b") + "SELECT $a FROM t")
    with pytest.raises(SqlFileError, match=r"unused parameter\(s\) \$b"):
        load_sql("bad")


def test_dollar_inside_strings_and_comments_is_not_a_parameter(sql_folder: Path, session: Session) -> None:
    _write(
        sql_folder,
        "quoted",
        HEADER.format(name="quoted", inputs="t", params="none")
        + "-- costs $5\nSELECT '$not_a_param' AS v FROM t",
    )
    assert session.tuples(session.run("quoted", None, {"t": pl.DataFrame({"a": [1]})})) == [("$not_a_param",)]


def test_missing_header_line_and_wrong_name_fail(sql_folder: Path) -> None:
    _write(sql_folder, "nohdr", "-- name: nohdr\nSELECT 1")
    with pytest.raises(SqlFileError, match="no '-- purpose:' line"):
        load_sql("nohdr")
    _write(sql_folder, "wrong", HEADER.format(name="other", inputs="none", params="none") + "SELECT 1")
    with pytest.raises(SqlFileError, match="header names 'other'"):
        load_sql("wrong")


def test_inputs_and_params_given_must_match_the_header(sql_folder: Path, session: Session) -> None:
    _write(sql_folder, "q", HEADER.format(name="q", inputs="t", params="$a") + "SELECT $a AS a FROM t")
    frame = pl.DataFrame({"x": [1]})
    with pytest.raises(SqlFileError, match=r"missing \$a"):
        session.run("q", {}, {"t": frame})
    with pytest.raises(SqlFileError, match=r"not declared \$b"):
        session.run("q", {"a": 1, "b": 2}, {"t": frame})
    with pytest.raises(SqlFileError, match="missing t"):
        session.run("q", {"a": 1}, {})


def test_parquet_inputs_with_typed_hive_partitions(
    tmp_path: Path, sql_folder: Path, session: Session
) -> None:
    for cycle in ("20260101", "20260102"):
        folder = tmp_path / "exports" / "system=okta" / f"cycle={cycle}"
        folder.mkdir(parents=True)
        pl.DataFrame({"id": [f"u-{cycle}"]}).write_parquet(folder / "users.parquet")
    _write(
        sql_folder,
        "cycles",
        HEADER.format(name="cycles", inputs="users", params="none")
        + "SELECT cycle, typeof(cycle) AS t, id FROM users ORDER BY cycle",
    )
    rows = session.tuples(
        session.run(
            "cycles",
            None,
            {
                "users": Parquet.of(
                    str(tmp_path / "exports/*/*/users.parquet"), hive_types={"cycle": "VARCHAR"}
                )
            },
        )
    )
    # without explicit types DuckDB would read 20260101 as a number
    assert rows == [("20260101", "VARCHAR", "u-20260101"), ("20260102", "VARCHAR", "u-20260102")]


def test_connection_is_utc_and_spills_where_told(tmp_path: Path) -> None:
    con = connect(temp_dir=tmp_path / "spill", memory_limit="512MB")
    assert con.sql("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    assert con.sql("SELECT current_setting('temp_directory')").fetchall() == [(str(tmp_path / "spill"),)]
    assert (tmp_path / "spill").is_dir()


def test_every_shipped_sql_file_loads() -> None:
    names = sorted(p.stem for p in sql_dir().glob("*.sql"))
    assert names, "no SQL files found"
    for name in names:
        sql = load_sql(name)
        assert sql.purpose
        body = "\n".join(line.split("--")[0] for line in sql.query.lower().splitlines())
        for forbidden in (r"read_parquet\s*\(", r"\bcopy\s+\w+\s+(to|from)\b", r"\bcreate\s+macro\b"):
            assert not re.search(forbidden, body), f"{name}.sql uses {forbidden}"
