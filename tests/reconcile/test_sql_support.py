"""Given/expected tables for the supporting SQL files: accounts, fingerprints, stats, findings order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from recon.attributes import compare_spec_table, user_attribute
from recon.engine.duckdb import connect, memory_limit_bytes
from recon.reconcile.run import RAW_VALUES, accounts_bytes
from recon.schemas import CONTENT_SHA256
from tests.reconcile.tables import CORRELATION, USERS, parse, rows, run

FINDING_COLUMNS = [
    "kind", "severity", "source_id", "target_id", "user_name", "group_id", "target_group_id",
    "group_name", "attribute", "source_value", "target_value", "detail",
]  # fmt: skip
FINDINGS = pa.schema([(c, pa.string()) for c in FINDING_COLUMNS])
PAIRS = pa.schema([("source_id", pa.string()), ("target_id", pa.string())])


def test_accounts_keep_only_the_columns_asked_for() -> None:
    users = parse(
        """
        id | external_id | user_name | active | title | department
        u1 | E1          | ann       | true   | Eng   | Sales
        """,
        USERS,
    )
    out = run("reconcile_accounts", {"columns": ["user_name", "title"]}, users=users)
    # the users' columns; content_sha256 (deltas only) is not an account column
    assert out.columns == [c for c in USERS.names if c != CONTENT_SHA256]
    assert out.select("id", "external_id", "user_name", "active", "title", "department").fetchall() == [
        ("u1", None, "ann", None, "Eng", None)
    ]


CORR = """
rule | source_id | target_id | ambiguous
1    | s1        | t1        | false
1    | s2        | t2        | false
2    | s3        | t3        | false
2    | s4        | t4        | true
2    | s4        | t5        | true
"""


def differing(paths: list[str], source: str, target: str) -> list[tuple[str, str]]:
    specs = [user_attribute(p) for p in paths]
    con = connect()
    correlation = con.from_arrow(parse(CORR, CORRELATION))
    columns = sorted({s.column_name for s in specs if s.column_name})
    lower = sorted({s.column_name for s in specs if s.column_name and not s.case_exact})
    users = {"source_users": parse(source, USERS), "target_users": parse(target, USERS)}
    fast = run(
        "reconcile_attribute_column_fingerprints",
        {"columns": columns, "lower_columns": lower},
        con=con,
        **users,
    )
    values = run(
        "reconcile_user_attribute_values",
        {"columns": columns, "only_pairs": False},
        con=con,
        compare_spec=compare_spec_table(specs),
        manager_map=pa.table({"id": pa.array([], pa.string()), "mapped": pa.array([], pa.string())}),
        attribute_pairs=PAIRS.empty_table(),
        raw_values=RAW_VALUES.empty_table(),
        **users,
    )
    generic = run("reconcile_attribute_value_fingerprints", None, con=con, attribute_values=values)
    got = []
    for prints in (fast, generic):
        out = run("reconcile_attribute_differing_pairs", None, con=con, user_correlation=correlation,
                  attribute_fingerprints=prints)  # fmt: skip
        got.append(rows(out))
    assert got[0] == got[1], "the column fingerprints and the generic ones disagree"
    return got[0]


def test_fingerprints_differ_only_where_normalised_values_differ() -> None:
    source = """
    id | user_name | title | external_id
    s1 | Ann       | ""    | E1
    s2 | bob       | Eng   | E2
    s3 | cy        | Ops   | E3
    s4 | dee       | A     | E4
    """
    target = """
    id | user_name | title | external_id
    t1 | ANN       | null  | E1
    t2 | bob       | eng   | e2
    t3 | cy        | Dev   | E3
    t4 | dee       | B     | E4
    t5 | dee       | A     | E4
    """
    # s1/t1: case and "" vs null only. s2/t2: title case only, externalId case differs (case-exact).
    # s3/t3: title differs. s4: ambiguous, never compared.
    assert differing(["userName", "title"], source, target) == [("s3", "t3")]
    assert differing(["userName", "title", "externalId"], source, target) == [("s2", "t2"), ("s3", "t3")]


def test_correlation_stats_and_manager_map() -> None:
    correlation = parse(CORR, CORRELATION)
    assert rows(run("reconcile_correlation_stats", None, correlation=correlation)) == [(1, 2, 0), (2, 1, 2)]
    assert rows(run("reconcile_manager_map", None, user_correlation=correlation)) == [
        ("s1", "t1"),
        ("s2", "t2"),
        ("s3", "t3"),
    ]


def test_findings_are_unioned_in_contract_order_and_sorted() -> None:
    def table(text: str) -> pa.Table:
        return parse(text, FINDINGS)

    empty = FINDINGS.empty_table()
    out = run(
        "reconcile_findings",
        None,
        user_findings=table(
            """
            kind               | severity | source_id | target_id | detail
            orphaned_in_target | critical | null      | t9        | x
            missing_in_target  | high     | s2        | null      | x
            missing_in_target  | high     | s1        | null      | x
            """
        ),
        group_findings=table(
            """
            kind                    | severity | group_id | detail
            group_missing_in_target | medium   | g1       | x
            """
        ),
        attribute_findings=table(
            """
            kind               | severity | source_id | target_id | attribute | detail
            attribute_mismatch | medium   | s1        | t1        | title     | x
            attribute_mismatch | medium   | s1        | t1        | department| x
            """
        ),
        membership_findings=empty,
    )
    assert out.columns == FINDING_COLUMNS
    assert out.select("kind", "source_id", "target_id", "group_id", "attribute").fetchall() == [
        ("attribute_mismatch", "s1", "t1", None, "department"),
        ("attribute_mismatch", "s1", "t1", None, "title"),
        ("group_missing_in_target", None, None, "g1", None),
        ("missing_in_target", "s1", None, None, None),
        ("missing_in_target", "s2", None, None, None),
        ("orphaned_in_target", None, "t9", None, None),
    ]
    counts = run("reconcile_counts", None, findings=out.to_arrow_table())
    assert rows(counts) == [
        ("attribute_mismatch", "medium", 2),
        ("group_missing_in_target", "medium", 1),
        ("missing_in_target", "high", 2),
        ("orphaned_in_target", "critical", 1),
    ]
    examples = run("reconcile_examples", {"per_kind": 1}, findings=out.to_arrow_table())
    assert examples.select("kind", "source_id", "attribute").fetchall() == [
        ("attribute_mismatch", "s1", "department"),
        ("group_missing_in_target", None, None),
        ("missing_in_target", "s1", None),
        ("orphaned_in_target", None, None),
    ]


def test_accounts_bytes_sum_the_kept_columns_of_every_file_from_the_footers(tmp_path: Path) -> None:
    users = pa.table(
        {
            "id": ["u1", "u2", "u3"],
            "emails": [[{"value": "a@x.com", "type": "work"}], [], None],
            "raw": ["{}" * 500] * 3,
        }
    )
    path = tmp_path / "users.parquet"
    pq.write_table(users, path, row_group_size=2)
    meta = pq.ParquetFile(path).metadata
    leaves = [
        (g, c, meta.row_group(g).column(c).path_in_schema.split(".")[0])
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    ]

    def size(*names: str) -> int:  # one leaf column chunk: uncompressed bytes + 16 per row
        return sum(
            meta.row_group(g).column(c).total_uncompressed_size + 16 * meta.row_group(g).num_rows
            for g, c, top in leaves
            if top in names
        )

    for kept in (["id", "emails"], ["id"]):
        assert accounts_bytes([path, path], kept) == 2 * size(*kept)


def test_memory_limit_is_read_in_bytes_from_duckdbs_rendering() -> None:
    con = connect()
    con.execute("SET memory_limit = '512MB'")  # DuckDB's own setting, not recon's split of a limit
    assert memory_limit_bytes(con) == 488.2 * 2**20  # DuckDB: "488.2 MiB"
    con.execute("SET memory_limit = '4GB'")
    assert memory_limit_bytes(con) == 3.7 * 2**30
