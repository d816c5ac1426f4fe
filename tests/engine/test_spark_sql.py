"""The sql/ files in Spark SQL: every file translates, and the statements Spark runs keep their meaning.

The lint half of the portability promise (the parity tests run the statements on both engines).
"""

from __future__ import annotations

import re

import pytest

from recon.engine import load_sql, sql_dir
from recon.engine.spark_sql import (
    DUCKDB_ONLY_FILES,
    DUCKDB_ONLY_STAGES,
    SPARK_STAGES,
    duckdb_only_reason,
    portability_problems,
    spark_query,
    spark_steps,
    to_spark,
)

ALL = sorted(path.stem for path in sql_dir().glob("*.sql"))


def test_there_are_sql_files() -> None:
    assert len(ALL) > 40


@pytest.mark.parametrize("name", ALL)
def test_every_sql_file_translates_to_spark_sql(name: str) -> None:
    text = spark_query(name)
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", re.sub(r"/\*.*?\*/", "", text, flags=re.S))
    assert code.lstrip().upper().startswith(("WITH", "SELECT", "("))
    assert not re.search(r"\$[A-Za-z_]", code)  # parameters are Spark markers (:name), not DuckDB's
    for param in load_sql(name).params:
        assert f":{param}" in code


@pytest.mark.parametrize("name", ALL)
def test_statements_spark_runs_use_nothing_duckdb_only(name: str) -> None:
    problems = portability_problems(load_sql(name).query)
    if duckdb_only_reason(name) is None:
        assert problems == [], f"sql/{name}.sql on Spark: {problems}"


def test_every_file_belongs_to_a_stage_with_an_engine_rule() -> None:
    stages = set(SPARK_STAGES) | set(DUCKDB_ONLY_STAGES)
    assert [n for n in ALL if n.split("_", 1)[0] not in stages] == []


def test_duckdb_only_files_are_exempt_for_a_reason_that_still_holds() -> None:
    for name in DUCKDB_ONLY_FILES:
        assert name in ALL
        assert portability_problems(load_sql(name).query), f"{name} is portable now: run it on Spark"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("SELECT list_distinct(emails) AS e FROM users", "drop NULLs"),
        ("SELECT array_distinct(emails) AS e FROM users", "drop NULLs"),
        ("SELECT * FROM read_parquet('data/exports/*/users.parquet')", "reads files itself"),
        ("SELECT hash(id) AS h FROM users", "32-bit"),
        ("SELECT list(id ORDER BY id) AS ids FROM users", "drops the order"),
        ("SELECT array_agg(title) AS t FROM users", "keep NULLs"),
        ("SELECT regexp_replace(user_name, 'a', 'b') AS u FROM users", "first match"),
        ("SELECT emails[1:2] AS e FROM users", "slices"),
        ("SELECT getvariable('cycle') AS c", "getvariable"),
        ("SELECT list_extract(emails, 1) AS e FROM users", "list_extract"),
        ("SELECT json_structure(raw) AS s FROM users", "json_structure"),
        ("SELECT made_up_function(id) AS x FROM users", "not a Spark SQL function"),
        ("COPY users TO 'out.parquet'", "not a query"),
        ("CREATE MACRO twice(a) AS a * 2", "not a query"),
        ("SELECT FROM WHERE", "does not parse"),
        ("SELECT sum(fp64(id)) AS s FROM users", "overflows"),
    ],
)
def test_the_lint_finds_what_spark_would_run_differently(statement: str, problem: str) -> None:
    found = portability_problems(statement)
    assert any(problem in p for p in found), found


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT list_sort(list_distinct(list_filter(emails, lambda e: e IS NOT NULL))) AS e FROM users",
        "SELECT array_agg(title) FILTER (WHERE title IS NOT NULL) AS t FROM users",
        "SELECT list({'value': member_id, 'type': member_type}) AS m FROM memberships",
        "SELECT regexp_replace(user_name, 'a', 'b', 'g') AS u FROM users",
        "SELECT fp64(id, user_name) AS k FROM users",
        "SELECT sum(CAST(fp64(id) AS HUGEINT)) AS s, bit_xor(fp64(id)) AS x FROM users",
    ],
)
def test_portable_idioms_pass(statement: str) -> None:
    assert portability_problems(statement) == []


def test_spark_corrections_of_what_sqlglot_translates_with_another_meaning() -> None:
    text = to_spark(
        "SELECT fp64(a, b) AS k, l[i] AS at_i, l[1] AS first, CAST(s AS HUGEINT) AS big, epoch(t) AS e, "
        "strftime(t, '%Y-%m-%dT%H:%M:%S.%fZ') AS iso FROM x WHERE y = $y"
    )
    assert "XXHASH64(a, b)" in text
    assert "ELEMENT_AT(l, i)" in text  # 1-based, as DuckDB's l[i]
    assert "l[0]" in text  # a constant index is shifted by sqlglot
    assert "DECIMAL(38, 0)" in text
    assert "UNIX_MICROS(t)" in text
    assert "yyyy-MM-dd\\'T\\'HH:mm:ss.SSSSSS\\'Z\\'" in text
    assert ":y" in text


def test_inputs_are_renamed_but_ctes_of_the_same_name_are_not() -> None:
    text = to_spark(
        "WITH users AS (SELECT id FROM source_users) SELECT u.id FROM users AS u JOIN groups ON true",
        {"source_users": "_in1_source_users", "users": "_in2_users", "groups": "_in3_groups"},
    )
    assert "_in1_source_users" in text and "_in3_groups" in text
    assert "_in2_users" not in text


SHARED = """
WITH picked AS (SELECT id FROM t WHERE v > $low),
counted AS (SELECT id, count(*) AS n FROM picked JOIN u ON u.id = picked.id GROUP BY id),
once AS (SELECT id, n FROM counted WHERE n > $high),
plain AS (SELECT id FROM t)
SELECT a.id FROM counted AS a JOIN counted AS b ON a.id = b.id
UNION ALL SELECT id FROM once UNION ALL SELECT id FROM plain UNION ALL SELECT id FROM plain
"""


def test_a_common_table_expression_read_twice_that_joins_is_computed_once_as_a_step() -> None:
    steps, text = spark_steps(SHARED, {"t": "_in1_t", "u": "_in2_u"}, lambda cte: f"_cte_{cte}")
    # counted joins and aggregates and is read twice: a step; picked is read once (by the step);
    # once is read once; plain is read twice but only scans: expanding it costs a scan, no join
    assert [step.view for step in steps] == ["_cte_counted"]
    step = steps[0]
    assert "_in1_t" in step.sql and "_in2_u" in step.sql and ":low" in step.sql
    assert step.params == {"low"}
    assert "_cte_counted AS a" in text and "_cte_counted AS b" in text and "_cte_counted AS counted" in text
    assert "JOIN _in2_u" not in text  # the join runs in the step only
    assert ":high" in text and "picked AS" not in text.split("once AS")[1]


def test_a_statement_without_shared_work_is_one_statement() -> None:
    text = "WITH a AS (SELECT id FROM t) SELECT id FROM a UNION ALL SELECT id FROM a"
    assert spark_steps(text, None, lambda cte: f"_cte_{cte}") == ([], to_spark(text))


def test_reconcile_membership_findings_reads_each_shared_part_from_a_step() -> None:
    steps, text = spark_steps(load_sql("reconcile_membership_findings").query, None, lambda c: f"_v_{c}")
    views = [step.view for step in steps]
    # the parts read twice are computed once each: expanded into every part that reads them, each
    # membership file was scanned ~40 times in one statement before (differing_users, read by
    # four parts, is an input now: reconcile_membership_differing_users, kept)
    assert views[:2] == ["_v_source_rows", "_v_target_rows"]
    assert {"_v_source_rows", "_v_target_rows", "_v_expected_users", "_v_actual_users"} <= set(views)
    assert "source_memberships" not in text and "target_memberships" not in text
