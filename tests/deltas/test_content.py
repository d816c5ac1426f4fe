"""recon.content: the RFC 7643 comparison of two versions of a resource, rule by rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recon.capabilities import Capabilities
from recon.content import NOT_JSON, changed_paths, content_rules

U = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
RFC = content_rules()


def diff(
    before: dict[str, Any], after: dict[str, Any], resource_type: str = "User", rules: Any = RFC
) -> list[str]:
    base = {"schemas": [U], "id": "1", **before}
    head = {"schemas": [U], "id": "1", **after}
    return changed_paths(json.dumps(base), json.dumps(head), resource_type, rules)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"userName": "Alice"}, {"userName": "aLICE"}),  # caseExact=false
        (
            {"title": "x", "meta": {"lastModified": "2026-01-01T00:00:00Z"}},
            {"title": "x", "meta": {"version": "2"}},
        ),
        ({"title": ""}, {}),
        ({"title": None}, {"nickName": ""}),
        ({"emails": []}, {"addresses": [{}]}),
        ({"name": {}}, {"name": {"givenName": None}}),
        (
            {"roles": [{"value": "a"}, {"value": "b"}]},
            {"roles": [{"value": "B"}, {"value": "a"}, {"value": "a"}]},
        ),
        (
            {"emails": [{"value": "a@x", "primary": True}]},
            {"emails": [{"primary": True, "value": "A@X", "display": ""}]},
        ),
        ({"schemas": [U, ENT]}, {"schemas": [ENT.upper(), U.lower()]}),
        ({"USERNAME": "bob"}, {"userName": "bob"}),  # attribute names are case-insensitive
        ({ENT: {"costCenter": "CC1"}}, {ENT.upper(): {"COSTCENTER": "cc1"}}),
        ({"x-count": 1}, {"x-count": 1.0}),  # one number
        ({ACME: {"badge": "Blue"}}, {ACME: {"badge": "BLUE"}}),  # undeclared: caseExact=false
    ],
)
def test_equivalent_versions_have_the_same_content(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert diff(before, after) == []


@pytest.mark.parametrize(
    ("before", "after", "paths"),
    [
        ({"active": True}, {"active": "true"}, ["active"]),
        ({"active": True}, {"active": 1}, ["active"]),
        ({"externalId": "a"}, {"externalId": "A"}, ["externalId"]),  # caseExact=true
        (
            {"x509Certificates": [{"value": "QUJD"}]},
            {"x509Certificates": [{"value": "qujd"}]},
            ["x509Certificates"],
        ),
        (
            {"phoneNumbers": [{"value": "1", "type": "work"}]},
            {"phoneNumbers": [{"value": "1", "type": "home"}]},
            ["phoneNumbers"],
        ),
        (
            {"name": {"givenName": "A", "familyName": "B"}},
            {"name": {"givenName": "C", "familyName": "B"}},
            ["name.givenName"],
        ),
        (
            {ENT: {"manager": {"value": "m1"}, "costCenter": "1"}},
            {ENT: {"manager": {"value": "m2"}}},
            [f"{ENT}:costCenter", f"{ENT}:manager.value"],
        ),
        ({ACME: {"badge": "b"}}, {ACME: {"Badge": "c"}}, [f"{ACME}:Badge"]),
        ({"schemas": [U]}, {"schemas": [U, ENT]}, ["schemas"]),
        ({"title": "a"}, {}, ["title"]),
    ],
)
def test_changes_are_named_by_path(before: dict[str, Any], after: dict[str, Any], paths: list[str]) -> None:
    assert diff(before, after) == paths


def test_group_members_are_left_to_the_memberships() -> None:
    before = {"displayName": "Ops", "members": [{"value": "u1"}]}
    after = {"displayName": "OPS", "members": [{"value": "u2"}]}
    assert diff(before, after, "Group") == []
    assert diff(before, {**after, "externalId": "e"}, "Group") == ["externalId"]


def test_text_that_is_not_a_json_object_is_a_change_unless_identical() -> None:
    assert changed_paths("not json", '{"id": "1"}', "User", RFC) == [NOT_JSON]
    assert changed_paths("[1]", "[1]", "User", RFC) == []


def test_deep_undeclared_nesting_is_compared_exactly_and_bounded() -> None:
    deep: Any = "X"
    for _ in range(200):
        deep = {"a": deep}
    other = json.loads(json.dumps(deep).replace('"X"', '"x"'))
    assert diff({"x-deep": deep}, {"x-deep": deep}) == []
    assert diff({"x-deep": deep}, {"x-deep": other}) == ["x-deep.a"]
    for _ in range(600):  # deeper than orjson writes: reported as a change, never hidden
        deep = [deep]
    assert diff({"x-deep": deep}, {"x-deep": deep}) == []  # identical text: no change
    assert diff({"x-deep": deep, "title": "a"}, {"x-deep": deep, "title": "b"}) == ["title", "x-deep"]


def served(case_exact: bool, date_type: str = "string") -> Capabilities:
    schema = {
        "id": ACME,
        "name": "Acme",
        "attributes": [
            {"name": "badge", "type": "string", "caseExact": case_exact, "multiValued": False},
            {"name": "hired", "type": date_type, "multiValued": False},
        ],
    }
    return Capabilities(
        system="s", advertised={"schemas": [schema]}, observed={}, discovered_at="2026-01-01T00:00:00Z"
    )


def test_a_server_schema_decides_case_exact_and_date_times() -> None:
    recased = ({ACME: {"badge": "Blue"}}, {ACME: {"badge": "blue"}})
    assert diff(*recased, rules=content_rules(served(True))) == [f"{ACME}:badge"]
    assert diff(*recased, rules=content_rules(served(False))) == []
    same_instant = ({ACME: {"hired": "2026-01-01T10:00:00+02:00"}}, {ACME: {"hired": "2026-01-01T08:00:00Z"}})
    assert diff(*same_instant, rules=content_rules(served(False, "dateTime"))) == []
    assert diff(*same_instant, rules=content_rules(served(False, "string"))) == [f"{ACME}:hired"]
    assert content_rules(served(True)).described.startswith("server /Schemas")
    assert RFC.described.startswith("RFC 7643")
