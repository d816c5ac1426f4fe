"""Given tables -> expected rows for validate's counting and weighting SQL files."""

from __future__ import annotations

import pyarrow as pa

from tests.tables import parse, run

_S = pa.string()
SCHEMA_FINDINGS = pa.schema(
    [(n, _S) for n in ("kind", "severity", "resource_type", "id", "attribute", "detail")]
)
MAPPING_FINDINGS = pa.schema(
    [(n, _S) for n in ("kind", "severity", "attribute", "source_id", "target_id", "detail")]
)


def test_counts_per_kind_and_severity_with_the_first_three_as_examples() -> None:
    findings = parse(
        """
        kind             | severity | resource_type | id | attribute | detail
        type_mismatch    | medium   | User          | u4 | title     | d4
        type_mismatch    | medium   | User          | u1 | title     | d1
        type_mismatch    | medium   | Group         | g1 | members   | dg
        type_mismatch    | medium   | User          | u2 | title     | d2
        leaked_attribute | critical | User          | u9 | password  | leak
        """,
        SCHEMA_FINDINGS,
    )
    assert run("validate_counts", findings=findings).fetchall() == [
        ("leaked_attribute", "critical", 1, "User", "u9", "password", "leak"),
        ("type_mismatch", "medium", 4, "Group", "g1", "members", "dg"),
        ("type_mismatch", "medium", 4, "User", "u1", "title", "d1"),
        ("type_mismatch", "medium", 4, "User", "u2", "title", "d2"),
    ]


def test_mapping_counts_list_findings_without_ids_first() -> None:
    findings = parse(
        """
        kind                          | severity | attribute | source_id | target_id | detail
        cross_system_case_collision   | medium   | userName  | s2        | t2        | b
        cross_system_case_collision   | medium   | userName  | s1        | t1        | a
        cross_system_case_collision   | medium   | userName  | null      | t0        | z
        cross_system_case_collision   | medium   | userName  | s3        | t3        | c
        mapping_type_mismatch         | high     | title     | null      | null      | t
        """,
        MAPPING_FINDINGS,
    )
    assert run("validate_mapping_counts", findings=findings).fetchall() == [
        ("cross_system_case_collision", "medium", 4, "userName", None, "t0", "z"),
        ("cross_system_case_collision", "medium", 4, "userName", "s1", "t1", "a"),
        ("cross_system_case_collision", "medium", 4, "userName", "s2", "t2", "b"),
        ("mapping_type_mismatch", "high", 1, "title", None, None, "t"),
    ]


def test_census_counts_the_resources_holding_a_value_at_each_path() -> None:
    shapes = parse(
        """
        shape_no | resource_type | resources
        1        | User          | 10
        2        | User          | 5
        3        | Group         | 2
        """,
        pa.schema([("shape_no", pa.int64()), ("resource_type", _S), ("resources", pa.int64())]),
    )
    observations = parse(
        """
        shape_no | path     | observed     | element
        1        | title    | string       | null
        2        | title    | null         | null
        1        | emails   | array        | object
        2        | emails   | array        | null
        2        | name     | empty_object | null
        2        | nickName | string       | null
        3        | members  | array        | object
        """,
        pa.schema([("shape_no", pa.int64()), ("path", _S), ("observed", _S), ("element", _S)]),
    )
    assert run("validate_census", shapes=shapes, observations=observations).fetchall() == [
        ("Group", "members", 2),
        ("User", "emails", 10),
        ("User", "nickName", 5),
        ("User", "title", 10),
    ]


def test_shape_weights_sum_the_weights_of_each_shapes_representatives() -> None:
    shapes = parse(
        """
        shape_no | resource_type | structure | schemas | facts | ids
        1        | User          | s1        | [] | [] | ["U1", "U2"]
        2        | User          | s2        | [] | [] | ["U3"]
        3        | Group         | s3        | [] | [] | ["U1"]
        """,
        pa.schema(
            [
                ("shape_no", pa.int64()),
                ("resource_type", _S),
                ("structure", _S),
                ("schemas", pa.list_(_S)),
                ("facts", pa.list_(_S)),
                ("ids", pa.list_(_S)),
            ]
        ),
    )
    representatives = parse(
        """
        resource_type | id | weight
        User          | U1 | 7
        User          | U2 | 3
        User          | U3 | 1
        Group         | U1 | 4
        """,
        pa.schema([("resource_type", _S), ("id", _S), ("weight", pa.int64())]),
    )
    out = run("validate_shape_weights", shapes=shapes, representatives=representatives)
    assert sorted(out.select("shape_no, resource_type, resources").fetchall()) == [
        (1, "User", 10),
        (2, "User", 1),
        (3, "Group", 4),
    ]
