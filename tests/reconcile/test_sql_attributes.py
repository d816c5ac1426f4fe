"""Given/expected tables for the attribute-value and attribute-mismatch SQL files."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from recon.attributes import compare_spec_table, user_attribute
from recon.engine.duckdb import connect
from recon.extract.normalize import ENTERPRISE_USER
from recon.reconcile.run import RAW_VALUES
from tests.reconcile.tables import USERS, parse, rows, run

MANAGER_MAP = pa.schema([("id", pa.string()), ("mapped", pa.string())])
PAIRS = pa.schema([("source_id", pa.string()), ("target_id", pa.string())])


def mismatches(
    paths: list[str],
    source: str,
    target: str,
    pairs: list[tuple[str, str]],
    manager_map: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> list[tuple[Any, ...]]:
    """attribute_mismatch rows (source_id, target_id, attribute, source_value, target_value)."""
    specs = [user_attribute(p) for p in paths]
    con = connect()
    spec = con.from_arrow(compare_spec_table(specs))
    columns = sorted(
        {s.column_name for s in specs if s.extraction == "column" and s.column_name}
        | ({"emails"} if any(s.extraction == "emails" for s in specs) else set())
        | ({"manager_id"} if any(s.extraction == "manager" for s in specs) else set())
    )
    only = {"only_pairs": False}
    sides = {"source_users": parse(source, USERS), "target_users": parse(target, USERS)}
    raw = (
        run(
            "reconcile_user_raw_values",
            only,
            con=con,
            compare_spec=spec,
            attribute_pairs=PAIRS.empty_table(),
            **sides,
        ).to_arrow_table()
        if any(s.reads_raw for s in specs)
        else RAW_VALUES.empty_table()
    )
    mapping = pa.Table.from_pylist([{"id": a, "mapped": b} for a, b in manager_map], schema=MANAGER_MAP)
    values = run(
        "reconcile_user_attribute_values",
        {"columns": columns, **only},
        con=con,
        compare_spec=spec,
        manager_map=mapping,
        attribute_pairs=PAIRS.empty_table(),
        raw_values=raw,
        **sides,
    ).to_arrow_table()
    out = run(
        "reconcile_attribute_mismatches",
        None,
        con=con,
        attribute_pairs=pa.Table.from_pylist(
            [{"source_id": s, "target_id": t} for s, t in pairs], schema=PAIRS
        ),
        attribute_values=values,
        compare_spec=spec,
    )
    return rows(out, "source_id", "target_id", "attribute", "source_value", "target_value")


def test_case_only_user_name_difference_is_not_a_finding() -> None:
    got = mismatches(
        ["userName", "name.givenName"],
        "id | user_name | given_name\n s1 | Ann.Lee@Example.com | Ann",
        "id | user_name | given_name\n t1 | ann.lee@example.com | ANN",
        [("s1", "t1")],
    )
    assert got == []


def test_a_different_value_is_one_finding_per_attribute_with_the_values_read() -> None:
    got = mismatches(
        ["userName", "name.givenName", "name.familyName", "title"],
        "id | user_name | given_name | family_name | title\n s1 | ann | Ann | Lee | Engineer",
        "id | user_name | given_name | family_name | title\n t1 | ann | Anne | Lee | Manager",
        [("s1", "t1")],
    )
    assert got == [
        ("s1", "t1", "name.givenName", "Ann", "Anne"),
        ("s1", "t1", "title", "Engineer", "Manager"),
    ]


def test_empty_string_null_and_absent_are_the_same_unassigned_value() -> None:
    got = mismatches(
        ["title", "department", "name.givenName"],
        """
        id | title | department | given_name
        s1 | ""    | null       | ""
        s2 | ""    | Sales      | Bo
        """,
        """
        id | title | department | given_name
        t1 | null  | ""         | null
        t2 | null  | ""         | Bo
        """,
        [("s1", "t1"), ("s2", "t2")],
    )
    # the only difference: Sales against unassigned (shown as null)
    assert got == [("s2", "t2", "department", "Sales", None)]


def test_reordered_and_case_changed_multi_valued_emails_are_the_same_set() -> None:
    source_emails = json.dumps(
        [
            {"value": "a@x.com", "type": "work", "primary": True},
            {"value": "b@x.com", "type": "work"},
            {"value": "h@home.net", "type": "home"},
        ]
    )
    target_emails = json.dumps(
        [
            {"value": "h@home.net", "type": "home"},
            {"value": "B@X.com", "type": "Work"},
            {"value": "A@x.com", "type": "work", "primary": True},
        ]
    )
    got = mismatches(
        ['emails[type eq "work"].value', "emails", "emails[primary]"],
        f"id | emails | primary_email\n s1 | {source_emails} | a@x.com",
        f"id | emails | primary_email\n t1 | {target_emails} | A@x.com",
        [("s1", "t1")],
    )
    assert got == []


def test_a_missing_work_email_is_a_set_difference_shown_as_json() -> None:
    source_emails = json.dumps([{"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "work"}])
    target_emails = json.dumps([{"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "home"}])
    got = mismatches(
        ['emails[type eq "work"].value'],
        f"id | emails\n s1 | {source_emails}",
        f"id | emails\n t1 | {target_emails}",
        [("s1", "t1")],
    )
    assert got == [("s1", "t1", 'emails[type eq "work"].value', '["a@x.com","b@x.com"]', '["a@x.com"]')]


def test_external_id_is_case_exact() -> None:
    got = mismatches(
        ["externalId"],
        "id | external_id\n s1 | E-1",
        "id | external_id\n t1 | e-1",
        [("s1", "t1")],
    )
    assert got == [("s1", "t1", "externalId", "E-1", "e-1")]


def test_enterprise_attributes_by_full_urn_path_and_raw_paths() -> None:
    ext = "urn:example:params:scim:schemas:extension:acme:1.0:User"
    source_raw = json.dumps(
        {
            ENTERPRISE_USER: {"costCenter": "CC-1"},
            ext: {"hired": "2026-01-01T12:00:00+02:00"},
            "nickName": "Al",
        }
    )
    target_raw = json.dumps(
        {ENTERPRISE_USER: {"costCenter": "cc-2"}, ext: {"hired": "2026-01-01T10:00:00Z"}, "nickName": "al"}
    )
    got = mismatches(
        [f"{ENTERPRISE_USER}:department", f"{ENTERPRISE_USER}:costCenter", f"{ext}:hired", "nickName"],
        f"id | department | raw\n s1 | Sales | {source_raw}",
        f"id | department | raw\n t1 | sales | {target_raw}",
        [("s1", "t1")],
    )
    # department differs only by case, the timestamps are the same instant, nickName by case
    assert got == [("s1", "t1", f"{ENTERPRISE_USER}:costCenter", "CC-1", "cc-2")]


def test_multi_valued_raw_attribute_with_a_filter_compares_as_a_set() -> None:
    source_raw = json.dumps(
        {"phoneNumbers": [{"value": "1", "type": "work"}, {"value": "2", "type": "work"}]}
    )
    same_raw = json.dumps(
        {
            "phoneNumbers": [
                {"value": "2", "type": "WORK"},
                {"value": "1", "type": "work"},
                {"value": "9", "type": "home"},
            ]
        }
    )
    other_raw = json.dumps({"phoneNumbers": [{"value": "1", "type": "work"}]})
    got = mismatches(
        ['phoneNumbers[type eq "work"].value'],
        f"id | raw\n s1 | {source_raw}\n s2 | {source_raw}",
        f"id | raw\n t1 | {same_raw}\n t2 | {other_raw}",
        [("s1", "t1"), ("s2", "t2")],
    )
    assert got == [("s2", "t2", 'phoneNumbers[type eq "work"].value', '["1","2"]', '["1"]')]


def test_manager_is_compared_through_the_correlation() -> None:
    got = mismatches(
        ["manager"],
        """
        id | manager_id
        s1 | s9
        s2 | s9
        s3 | s8
        """,
        """
        id | manager_id
        t1 | t9
        t2 | t7
        t3 | s8
        """,
        [("s1", "t1"), ("s2", "t2"), ("s3", "t3")],
        manager_map=[("s9", "t9")],
    )
    # s1's manager s9 is matched to t9: equal. s2: t7 is someone else. s3: s8 is unmatched, so a
    # target manager id that happens to equal the source id is not the same person.
    assert got == [("s2", "t2", "manager", "s9", "t7"), ("s3", "t3", "manager", "s8", "s8")]


def test_unpaired_users_are_not_compared() -> None:
    got = mismatches(["title"], "id | title\n s1 | A", "id | title\n t1 | B", [])
    assert got == []
