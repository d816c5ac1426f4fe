"""Given/expected table tests of the sql/validate_*.sql files: input tables written inline."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from recon.engine import open_session
from recon.validate.declared import DECLARED_ATTRIBUTES, DECLARED_SCHEMAS, declared_for
from recon.validate.shapes import OBSERVATIONS
from recon.validate.specs import VALUE_SPECS, value_checks

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def table(schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)


def run(name: str, params: dict[str, Any] | None, **tables: pa.Table) -> list[tuple[Any, ...]]:
    with open_session() as session:
        return session.tuples(session.run(name, params, tables))


USERS = pa.schema([("id", pa.string()), ("user_name", pa.string()), ("primary_email", pa.string())])


@pytest.mark.parametrize(
    ("case_exact", "expected"),
    [
        (
            False,
            [
                (
                    "a",
                    "userName 'Ann' collides with 2 other user(s) (b, c): the values differ only by case and "
                    "userName is not caseExact",
                ),
                (
                    "b",
                    "userName 'ann' collides with 2 other user(s) (a, c): the values differ only by case and "
                    "userName is not caseExact",
                ),
                (
                    "c",
                    "userName 'ann' collides with 2 other user(s) (a, b): the values differ only by case and "
                    "userName is not caseExact",
                ),
            ],
        ),
        (
            True,
            [
                ("b", "userName 'ann' collides with 1 other user(s) (c): the values are identical"),
                ("c", "userName 'ann' collides with 1 other user(s) (b): the values are identical"),
            ],
        ),
    ],
)
def test_user_name_collisions(case_exact: bool, expected: list[tuple[str, str]]) -> None:
    users = table(
        USERS,
        [
            ("a", "Ann", None),
            ("b", "ann", None),
            ("c", "ann", None),
            ("d", "Bob", None),
            ("e", None, None),
            ("f", "", None),
            ("g", "", None),
        ],
    )
    rows = run("validate_user_name_collisions", {"case_exact": case_exact}, users=users)
    assert sorted((r[3], r[5]) for r in rows) == expected
    assert {(r[0], r[1], r[2], r[4]) for r in rows} == {("user_name_collision", "high", "User", "userName")}


SHAPES = pa.schema(
    [("shape_no", pa.int64()), ("resource_type", pa.string()), ("schemas", pa.list_(pa.string()))]
)


def _declared() -> tuple[pa.Table, pa.Table]:
    d = [
        # resource_type, schema, path, key, parent_key, type, multi, case_exact, mutability, returned,
        # required, in_multi, canonical
        (
            "User",
            CORE,
            "userName",
            "username",
            None,
            "string",
            False,
            False,
            "readWrite",
            "default",
            True,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "active",
            "active",
            None,
            "boolean",
            False,
            False,
            "readWrite",
            "default",
            False,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "password",
            "password",
            None,
            "string",
            False,
            False,
            "writeOnly",
            "never",
            False,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "name",
            "name",
            None,
            "complex",
            False,
            False,
            "readWrite",
            "default",
            False,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "name.givenName",
            "name.givenname",
            "name",
            "string",
            False,
            False,
            "readWrite",
            "default",
            True,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "emails",
            "emails",
            None,
            "complex",
            True,
            False,
            "readWrite",
            "default",
            False,
            False,
            [],
        ),
        (
            "User",
            CORE,
            "emails.value",
            "emails.value",
            "emails",
            "string",
            False,
            False,
            "readWrite",
            "default",
            False,
            True,
            [],
        ),
        (
            "User",
            ENT,
            f"{ENT}:department",
            f"{ENT}:department".lower(),
            ENT.lower(),
            "string",
            False,
            False,
            "readWrite",
            "default",
            False,
            False,
            [],
        ),
    ]
    s = [("User", CORE, CORE.lower(), "core", True), ("User", ENT, ENT.lower(), "extension", False)]
    return table(DECLARED_ATTRIBUTES, d), table(DECLARED_SCHEMAS, s)


def test_shape_findings() -> None:
    declared_attributes, declared_schemas = _declared()
    shapes = table(
        SHAPES, [(1, "User", [CORE, ENT]), (2, "User", [ENT, "urn:acme:x"]), (3, "User", [CORE, ENT])]
    )
    observations = table(
        OBSERVATIONS,
        [
            # shape 1: every attribute rule
            (1, "userName", None, "string", None, False, False),
            (1, "active", None, "string", None, False, False),
            (1, "password", None, "string", None, False, False),
            (1, "foo", None, "integer", None, False, False),
            (1, "Name", None, "object", None, False, False),
            (1, "Name.familyName", "Name", "string", None, False, False),
            (1, "emails", None, "array", "object", False, False),
            (1, "emails.value", "emails", "mixed", None, True, False),
            (1, "emails.verified", "emails", "boolean", None, True, False),
            (1, ENT, None, "object", None, False, True),
            (1, f"{ENT}:department", ENT, "string", None, False, False),
            (1, f"{ENT}:badge", ENT, "string", None, False, False),
            (1, "title", None, "object", None, False, False),
            (1, "title.deep", "title", "string", None, False, False),
            # shape 2: URNs; userName null; an undeclared block whose attributes are not reported one by one
            (2, "userName", None, "null", None, False, False),
            (2, ENT, None, "object", None, False, True),
            (2, f"{ENT}:department", ENT, "string", None, False, False),
            (2, "urn:acme:x", None, "object", None, False, True),
            (2, "urn:acme:x:level", "urn:acme:x", "integer", None, False, False),
            # shape 3: everything in order (an empty object, an empty array, null values are no values)
            (3, "userName", None, "string", None, False, False),
            (3, "name", None, "empty_object", None, False, False),
            (3, "emails", None, "array", "null", False, False),
            (3, "password", None, "null", None, False, False),
            (3, "foo", None, "null", None, False, False),
        ],
    )
    rows = run(
        "validate_shape_findings",
        None,
        shapes=shapes,
        observations=observations,
        declared_attributes=declared_attributes,
        declared_schemas=declared_schemas,
    )
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows) == [
        (1, "attribute_name_case", "low", "Name"),
        (1, "leaked_attribute", "critical", "password"),
        (1, "missing_required", "high", "name.givenName"),
        (1, "type_mismatch", "medium", "active"),
        (1, "type_mismatch", "medium", "emails.value"),
        (1, "undeclared_attribute", "low", "Name.familyName"),
        (1, "undeclared_attribute", "low", "emails.verified"),
        (1, "undeclared_attribute", "low", "foo"),
        (1, "undeclared_attribute", "low", "title"),
        (1, "undeclared_attribute", "medium", f"{ENT}:badge"),
        (2, "missing_required", "high", "userName"),
        (2, "schema_urn_missing", "medium", CORE),
        (2, "undeclared_schema", "medium", "urn:acme:x"),
        (3, "schema_urn_without_block", "low", ENT),
    ]


def test_fact_findings() -> None:
    facts_type = pa.list_(
        pa.struct([("check_name", pa.string()), ("idx", pa.int32()), ("vals", pa.list_(pa.string()))])
    )
    shapes_schema = pa.schema(
        [("shape_no", pa.int64()), ("resource_type", pa.string()), ("facts", facts_type)]
    )
    shapes = table(
        shapes_schema,
        [
            (1, "User", [{"check_name": "primary", "idx": 1, "vals": ["2"]}]),
            (2, "User", [{"check_name": "type", "idx": 1, "vals": ["Work2", "x"]}]),
            (3, "User", [{"check_name": "datetime", "idx": 1, "vals": ["2025-01-01"]}]),
            (4, "User", [{"check_name": "nonempty", "idx": 2, "vals": []}]),
            (5, "User", []),
        ],
    )
    specs = table(
        VALUE_SPECS,
        [
            ("User", "multi", 1, "emails", "primary", "primary", [], [], False),
            (
                "User",
                "multi",
                1,
                "emails.type",
                "canonical",
                "type",
                ["work", "home"],
                ["work", "home"],
                False,
            ),
            ("User", "single", 1, "meta.created", "datetime", None, [], [], False),
            ("User", "single", 2, "userName", "nonempty", None, [], [], False),
            ("Group", "single", 2, "displayName", "nonempty", None, [], [], False),
        ],
    )
    rows = run("validate_fact_findings", None, shapes=shapes, value_specs=specs)
    assert sorted(rows) == [
        (
            1,
            "multiple_primary",
            "medium",
            "emails",
            "emails has 2 values with primary: true; at most one is allowed",
        ),
        (
            2,
            "non_canonical_value",
            "low",
            "emails.type",
            "emails.type has 'Work2', 'x', not one of the canonical values work, home",
        ),
        (
            3,
            "type_mismatch",
            "medium",
            "meta.created",
            "meta.created is declared dateTime but holds '2025-01-01', not an xsd:dateTime"
            " (e.g. 2008-01-23T04:56:22Z)",
        ),
        (4, "missing_required", "high", "userName", "userName is required but empty"),
    ]


MAPPED = pa.schema(
    [
        ("position", pa.int32()),
        ("attribute", pa.string()),
        ("role", pa.string()),
        ("source_path", pa.string()),
        ("target_path", pa.string()),
    ]
)
CENSUS = pa.schema([("resource_type", pa.string()), ("path", pa.string()), ("resources", pa.int64())])


def _side(rows: list[tuple[str, str, bool, bool]]) -> pa.Table:
    return table(
        DECLARED_ATTRIBUTES,
        [
            (
                "User",
                CORE,
                path,
                path.lower(),
                None,
                kind,
                multi,
                case_exact,
                "readWrite",
                "default",
                False,
                False,
                [],
            )
            for path, kind, multi, case_exact in rows
        ],
    )


def test_mapping_findings() -> None:
    mapped = table(
        MAPPED,
        [
            (1, "id = externalId", "match", "id", "externalId"),
            (2, "userName", "compare", "userName", "userName"),
            (3, "active", "compare", "active", "active"),
            (4, "department", "compare", f"{ENT}:department", f"{ENT}:department"),
            (5, "title", "compare", "title", "title"),
        ],
    )
    source = _side(
        [
            ("id", "string", False, True),
            ("externalId", "string", False, True),
            ("userName", "string", False, False),
            ("active", "boolean", False, False),
            (f"{ENT}:department", "string", False, False),
            ("title", "string", False, False),
        ]
    )
    target = _side(
        [
            ("id", "string", False, True),
            ("externalId", "string", False, True),
            ("userName", "string", False, True),
            ("active", "string", False, False),
            ("title", "string", False, False),
        ]
    )
    source_census = table(
        CENSUS,
        [("User", "id", 3), ("User", "userName", 3), ("User", "active", 3), ("User", f"{ENT}:department", 2)],
    )
    target_census = table(
        CENSUS,
        [
            ("User", "id", 3),
            ("User", "externalId", 3),
            ("User", "userName", 3),
            ("User", "active", 3),
            ("User", "urn:acme:x:Department", 2),
        ],
    )
    rows = run(
        "validate_mapping_findings",
        None,
        mapped=mapped,
        source_declared=source,
        target_declared=target,
        source_census=source_census,
        target_census=target_census,
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("mapping_case_exact_mismatch", "medium", "userName"),
        ("mapping_type_mismatch", "medium", "active"),
        ("mapping_attribute_undeclared", "high", "department"),
        ("mapping_unpopulated_in_target", "high", "department"),
    ]
    unpopulated = rows[-1][9]
    assert unpopulated.endswith(
        f"is populated for 2 source users but {ENT}:department for no target user;"
        " the target populates urn:acme:x:Department (2 users) instead (renamed or unmapped?)"
    )


def test_mapping_case_collisions() -> None:
    source = table(USERS, [("s1", "Ann", "Ann@X.com"), ("s2", "bob", "bob@x.com"), ("s3", None, None)])
    target = table(USERS, [("t1", "ann", "ann@x.com"), ("t2", "bob", "bob@x.com"), ("t3", "ANN", None)])
    rows = run(
        "validate_mapping_case_collisions",
        {"user_name_case_exact": True, "email_case_exact": False},
        source_users=source,
        target_users=target,
    )
    assert [(r[0], r[1], r[2], r[5], r[6], r[7], r[8]) for r in rows] == [
        ("cross_system_case_collision", "low", "emails[primary]", "s1", "t1", "Ann@X.com", "ann@x.com"),
        ("cross_system_case_collision", "high", "userName", "s1", "t1", "Ann", "ann"),
        ("cross_system_case_collision", "high", "userName", "s1", "t3", "Ann", "ANN"),
    ]


def test_element_findings_from_kept_arrays() -> None:
    facts_type = pa.list_(
        pa.struct([("check_name", pa.string()), ("idx", pa.int32()), ("vals", pa.list_(pa.string()))])
    )
    shapes_schema = pa.schema(
        [("shape_no", pa.int64()), ("resource_type", pa.string()), ("facts", facts_type)]
    )
    emails = '[{"value":"a@x","display":"w"},{"display":"Home"},{"value":""}]'
    shapes = table(
        shapes_schema,
        [
            (1, "User", [{"check_name": "raw", "idx": 1, "vals": [emails]}]),
            (
                2,
                "User",
                [
                    {
                        "check_name": "raw",
                        "idx": 2,
                        "vals": ['["2025-01-01T00:00:00Z","2025-13-01T00:00:00Z"]'],
                    }
                ],
            ),
            (3, "User", [{"check_name": "primary", "idx": 1, "vals": ["2"]}]),
        ],
    )
    specs = table(
        VALUE_SPECS,
        [
            ("User", "multi", 1, "emails.value", "required_sub", "value", [], [], False),
            ("User", "multi", 1, "emails.display", "canonical", "display", ["Home"], ["Home"], True),
            ("User", "multi", 1, "emails", "primary", "primary", [], [], False),
            ("User", "multi", 2, "x:dates", "datetime", "", [], [], False),
        ],
    )
    rows = run("validate_element_findings", None, shapes=shapes, value_specs=specs)
    assert sorted(rows) == [
        (1, "missing_required", "high", "emails.value", "emails.value is required but 2 value(s) lack it"),
        (
            1,
            "non_canonical_value",
            "low",
            "emails.display",
            "emails.display has 'w', not one of the canonical values Home",
        ),
        (
            2,
            "type_mismatch",
            "medium",
            "x:dates",
            "x:dates is declared dateTime but holds '2025-13-01T00:00:00Z', not an xsd:dateTime"
            " (e.g. 2008-01-23T04:56:22Z)",
        ),
    ]


RESOURCES = pa.schema([("id", pa.string()), ("raw", pa.string())])


def test_shapes_group_resources_and_keep_only_broken_values() -> None:
    """One shape per structure, schemas and facts; a fact only where a value breaks its check."""
    checks = value_checks(declared_for(None))
    emails = '[{"value":"a@x","type":"work","primary":true},{"value":"true@x","type":"Home"}]'
    users = table(
        RESOURCES,
        [
            ("u1", f'{{"schemas":["{CORE}"],"userName":"a","emails":{emails}}}'),
            # the same shape: only values differ (the text 'true' twice, one primary; a type in another case)
            ("u2", f'{{"schemas":["{CORE}"],"userName":"b","emails":{emails.replace("a@x", "b@x")}}}'),
            # the same structure, schemas written with a space: one shape once the URNs are read
            ("u3", f'{{"schemas": ["{CORE}"],"userName":"c","emails":{emails.replace("a@x", "c@x")}}}'),
            ("empty", f'{{"schemas":["{CORE}"],"userName":"","emails":{emails}}}'),
            (
                "two-primaries",
                f'{{"schemas":["{CORE}"],"userName":"d",'
                '"emails":[{"value":"a","type":"work","primary":true},{"value":"b","type":"x","primary":true}]}',
            ),
            ("late", f'{{"schemas":["{CORE}"],"userName":"e","meta":{{"created":"2025-02-29T00:00:00Z"}}}}'),
            ("leap", f'{{"schemas":["{CORE}"],"userName":"f","meta":{{"created":"2024-02-29T00:00:00Z"}}}}'),
        ],
    )
    groups = table(
        RESOURCES,
        [
            (
                "g1",
                '{"displayName":"g","members":[{"value":"u1","type":"User"},{"value":"g2","type":"group"}]}',
            ),
            (
                "g2",
                '{"displayName":"g","members":[{"value":"u1","type":"Robot"},{"value":"g2","type":"user"}]}',
            ),
        ],
    )
    rows = run("validate_shapes", checks.params(), users=users, groups=groups)
    shapes = {rid: (row[0], [(f["check_name"], f["vals"]) for f in row[4]]) for row in rows for rid in row[6]}
    assert {rid: facts for rid, (_, facts) in shapes.items()} == {
        "u1": [],
        "u2": [],
        "u3": [],
        "empty": [("nonempty", [])],
        "two-primaries": [("primary", ["2"]), ("type", ["x"])],
        "late": [("datetime", ["2025-02-29T00:00:00Z"])],
        "leap": [],
        "g1": [],
        "g2": [("type", ["Robot"])],
    }
    assert shapes["u1"][0] == shapes["u2"][0] == shapes["u3"][0] != shapes["empty"][0]
    assert len({number for number, _ in shapes.values()}) == len(rows) == 7
    assert {row[0]: row[5] for row in rows}[shapes["u1"][0]] == 3


ROWS = pa.schema([("id", pa.string()), ("raw", pa.string()), ("file_row_number", pa.int64())])


def test_every_resource_is_its_own_representative_keyed_by_its_row() -> None:
    users = table(ROWS, [("u-9", '{"a":1}', 0), ("u-3", '{"b":2}', 1)])
    groups = table(ROWS, [("g-1", "{}", 0)])
    assert sorted(run("validate_every_resource_keyed", {"letter": "U"}, rows=users)) == [
        ("U0", '{"a":1}', 1),
        ("U1", '{"b":2}', 1),
    ]
    both = {"user_rows": users, "group_rows": groups}
    assert sorted(run("validate_every_resource_representatives", None, **both)) == [
        ("Group", "G0", 1),
        ("User", "U0", 1),
        ("User", "U1", 1),
    ]
    assert sorted(run("validate_every_resource_members", None, **both)) == [
        ("Group", 0, "g-1"),
        ("User", 0, "u-9"),
        ("User", 1, "u-3"),
    ]


def test_resource_counts_sum_the_weights_per_type() -> None:
    reps = pa.table(
        {"resource_type": ["User", "User", "Group"], "id": ["U0", "U5", "G0"], "weight": [3, 4, 2]}
    )
    assert sorted(run("validate_resource_counts", None, representatives=reps)) == [("Group", 2), ("User", 7)]


def test_shape_structures_and_recased_resources() -> None:
    shapes = pa.table({"shape_no": [2, 1], "structure": ['{"b":"s"}', '{"a":"s"}'], "other": [0, 0]})
    assert run("validate_shape_structures", None, shapes=shapes) == [(2, '{"b":"s"}'), (1, '{"a":"s"}')]
    again = pa.table(
        {"resource_type": ["User", "Group"], "id": ["u", "g"], "raw": ["{}", "[]"], "recase": [True, False]}
    )
    assert run("validate_recheck_recased", None, again=again) == [("User", "u", "{}")]
