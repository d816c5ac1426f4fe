"""Given tables -> expected rows for the files of validate's recheck path (rare shapes read again)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from recon.engine.duckdb import connect
from tests.tables import parse, run

_S = pa.string()


def test_recheck_shapes_are_those_with_a_case_finding_or_a_finding_at_a_string_or_mixed_value() -> None:
    findings = parse(
        """
        shape_no | kind                | attribute
        1        | attribute_name_case | UserName
        2        | type_mismatch       | title
        3        | undeclared_attribute| emails
        4        | type_mismatch       | age
        5        | missing_required    | title
        """,
        pa.schema([("shape_no", pa.int64()), ("kind", _S), ("attribute", _S)]),
    )
    observations = parse(
        """
        shape_no | path     | observed | element
        1        | UserName | string   | null
        2        | title    | string   | null
        3        | emails   | array    | mixed
        4        | age      | number   | null
        5        | title    | string   | null
        """,
        pa.schema([("shape_no", pa.int64()), ("path", _S), ("observed", _S), ("element", _S)]),
    )
    out = run("validate_recheck_shapes", shape_findings=findings, observations=observations)
    assert out.fetchall() == [(1, True, False), (2, False, True), (3, False, True)]


def test_recheck_resources_read_every_recase_resource_and_the_ones_holding_empty_values() -> None:
    shapes = parse(
        """
        shape_no | resource_type | ids
        1        | User          | ["u1"]
        2        | User          | ["u2", "u3"]
        3        | Group         | ["g1"]
        4        | User          | ["u4"]
        """,
        pa.schema([("shape_no", pa.int64()), ("resource_type", _S), ("ids", pa.list_(_S))]),
    )
    users = pa.table(
        {
            "id": ["u1", "u2", "u3", "u4"],
            "raw": ['{"UserName":"a"}', '{"title": "", "emails":[{}]}', '{"title":"x"}', '{"title":""}'],
        }
    )
    groups = pa.table({"id": ["g1"], "raw": ['{"displayName":"","members":[]}']})
    con = connect()
    out = run(
        "validate_recheck_resources",
        {"recase": [1], "nulls": [2, 3]},
        con,
        shapes=shapes,
        users=users,
        groups=groups,
    )
    got = {
        row[2]: row
        for row in out.select("shape_no, resource_type, id, recase, raw, structure::VARCHAR").fetchall()
    }

    def structure(text: str) -> str:
        return str(duckdb.sql(f"SELECT json_structure('{text}')::VARCHAR").fetchall()[0][0])

    assert sorted(got) == ["g1", "u1", "u2"]  # u3 holds no empty value; shape 4 is not asked for
    assert got["u1"] == (1, "User", "u1", True, '{"UserName":"a"}', structure('{"UserName":"a"}'))
    assert got["u2"] == (2, "User", "u2", False, None, structure('{"title": null, "emails":[null]}'))
    # a member's {} or [] reads as null too: no value either way, and never "mixed" inside an array
    assert got["g1"] == (3, "Group", "g1", False, None, structure('{"displayName":null,"members":null}'))


_FACTS = pa.list_(pa.struct([("check_name", _S), ("idx", pa.int64())]))


def test_shapes_recheck_regroups_the_resources_read_again_and_keeps_the_others() -> None:
    shapes = parse(
        """
        shape_no | resource_type | structure | schemas  | facts                                                                  | resources | ids
        1        | User          | S         | ["core"] | [{"check_name": "nonempty", "idx": 1}, {"check_name": "canonical", "idx": 2}] | 3 | ["U1", "U2", "U3"]
        2        | Group         | G         | ["core"] | []                                                                     | 1         | ["G1"]
        """,  # noqa: E501
        pa.schema(
            [
                ("shape_no", pa.int64()),
                ("resource_type", _S),
                ("structure", _S),
                ("schemas", pa.list_(_S)),
                ("facts", _FACTS),
                ("resources", pa.int64()),
                ("ids", pa.list_(_S)),
            ]
        ),
    )
    again = parse(
        """
        shape_no | resource_type | id | structure
        1        | User          | U2 | S-with-nulls
        1        | User          | U3 | S
        """,
        pa.schema([("shape_no", pa.int64()), ("resource_type", _S), ("id", _S), ("structure", _S)]),
    )
    value_shapes = parse(  # U3 was respelled as declared: its value facts come from that copy
        """
        resource_type | ids    | facts
        User          | ["U3"] | [{"check_name": "type", "idx": 5}]
        """,
        pa.schema([("resource_type", _S), ("ids", pa.list_(_S)), ("facts", _FACTS)]),
    )
    out = run("validate_shapes_recheck", shapes=shapes, again=again, value_shapes=value_shapes)
    got = out.select("shape_no, resource_type, structure, [f.check_name FOR f IN facts], resources, ids")
    assert got.fetchall() == [
        (1, "Group", "G", [], 1, ["G1"]),  # not read again: kept as it was
        (2, "User", "S", ["nonempty", "canonical"], 1, ["U1"]),
        (3, "User", "S-with-nulls", ["canonical"], 1, ["U2"]),  # a "" read as null is no nonempty fact
        (4, "User", "S", ["type"], 1, ["U3"]),
    ]
