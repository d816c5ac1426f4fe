from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA, Rejected, normalise


def user(**attrs: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "id": "u1", "userName": "ann@example.com", **attrs}


def test_core_and_enterprise_attributes_are_flattened() -> None:
    resource = user(
        externalId="E1",
        active=True,
        displayName="Ann Ødegård",
        name={"givenName": "Ann", "familyName": "Ødegård"},
        title="Engineer",
        userType="Employee",
        schemas=[USER_SCHEMA, ENTERPRISE_USER],
        **{ENTERPRISE_USER: {"employeeNumber": 42, "department": "R&D", "manager": {"value": "u9"}}},
    )
    row = normalise(resource).row
    assert row["external_id"] == "E1"
    assert row["given_name"] == "Ann"
    assert row["family_name"] == "Ødegård"
    assert row["employee_number"] == "42"
    assert row["department"] == "R&D"
    assert row["manager_id"] == "u9"
    assert row["title"] == "Engineer"
    assert row["user_type"] == "Employee"
    assert orjson.loads(row["raw"]) == resource


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        ([{"value": "h@x", "type": "home"}, {"value": "w@x", "type": "work", "primary": True}], "w@x"),
        ([{"value": "h@x", "type": "home"}, {"value": "w@x", "type": "work"}], "w@x"),
        ([{"value": "h@x", "type": "home"}, {"value": "o@x", "type": "other"}], "h@x"),
        ([], None),
    ],
)
def test_primary_email_is_primary_else_first_work_else_first(
    emails: list[dict[str, Any]], expected: str | None
) -> None:
    assert normalise(user(emails=emails)).row["primary_email"] == expected


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T10:00:00Z",
        "2026-03-01T11:00:00+01:00",
        "2026-03-01T11:00:00+0100",
        "2026-03-01T05:30:00.000-04:30",
        "2026-03-01T10:00:00.000000Z",
    ],
)
def test_timestamps_are_utc_whatever_the_offset_format(stamp: str) -> None:
    row = normalise(user(meta={"lastModified": stamp, "created": stamp})).row
    assert row["last_modified"] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert row["created"] == row["last_modified"]


def test_timestamp_without_offset_is_taken_as_utc_with_an_anomaly() -> None:
    result = normalise(user(meta={"lastModified": "2026-03-01T10:00:00"}))
    assert result.row["last_modified"] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert [kind for kind, _ in result.anomalies] == ["timestamp_without_offset"]


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("True", True), ("false", False)])
def test_active_as_string_is_accepted_with_an_anomaly(given: str, expected: bool) -> None:
    result = normalise(user(active=given))
    assert result.row["active"] is expected
    assert result.anomalies and result.anomalies[0][0] == "boolean_as_string"


def test_absent_active_stays_null() -> None:
    assert normalise(user()).row["active"] is None


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ({"schemas": [USER_SCHEMA], "userName": "x"}, "id: missing"),
        ({"id": "u1", "userName": "x"}, "schemas: missing"),
        ({"schemas": ["urn:example:Device"], "id": "d1"}, "unknown resource type"),
        (user(active="yes"), "active: expected a boolean"),
        (user(userName=["a"]), "userName: expected a string"),
        (user(emails={"value": "x"}), "emails: expected a list"),
        (user(name="Ann"), "name: expected an object"),
        (user(meta={"lastModified": "yesterday"}), "meta.lastModified: 'yesterday' is not a dateTime"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_resources_are_rejected_with_the_attribute(resource: Any, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        normalise(resource)


def test_resource_type_from_meta_when_schemas_are_custom() -> None:
    resource = {"schemas": ["urn:example:custom"], "id": "g1", "meta": {"resourceType": "Group"}}
    assert normalise(resource).resource_type == "Group"


def test_group_members_become_memberships_with_types() -> None:
    group = {
        "schemas": [GROUP_SCHEMA],
        "id": "g1",
        "displayName": "admins",
        "members": [
            {"value": "u1", "type": "User"},
            {"value": "g2", "$ref": "https://idp/scim/v2/Groups/g2"},
            {"value": "u3", "$ref": "https://idp/scim/v2/Users/u3"},
            {"value": "x4"},
        ],
    }
    result = normalise(group)
    assert result.resource_type == "Group"
    assert result.row["display_name"] == "admins"
    assert [(m["member_id"], m["member_type"]) for m in result.memberships] == [
        ("u1", "User"),
        ("g2", "Group"),
        ("u3", "User"),
        ("x4", None),
    ]
