"""Payloads built from source resources: creates, attribute PATCHes, and splitting big groups."""

from __future__ import annotations

import json

import orjson
import pytest

from recon.bulk.chunking import chunk_operations
from recon.bulk.payloads import attribute_patch, group_create, user_create
from recon.bulk.remedies import RemedyBuilder
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA

SOURCE = {
    "schemas": [USER_SCHEMA, ENTERPRISE_USER, "urn:example:idp:1.0:User"],
    "id": "s1",
    "externalId": "HR-1",
    "userName": "ann@x",
    "name": {"givenName": "Ann", "familyName": ""},
    "emails": [{"value": "ann@home", "type": "home"}, {"value": "ann@x", "primary": True}],
    "groups": [{"value": "g1"}],
    "meta": {"version": 'W/"3"', "resourceType": "User"},
    ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "s9"}},
    "urn:example:idp:1.0:User": {"badge": "7"},
}


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("userName", [{"op": "replace", "path": "userName", "value": "ann@x"}]),
        ("name.givenName", [{"op": "replace", "path": "name.givenName", "value": "Ann"}]),
        ("name.familyName", [{"op": "remove", "path": "name.familyName"}]),  # "" is unassigned
        ("title", [{"op": "remove", "path": "title"}]),
        ("emails[primary]", [{"op": "replace", "path": "emails", "value": SOURCE["emails"]}]),
        ("department", [{"op": "replace", "path": f"{ENTERPRISE_USER}:department", "value": "Eng"}]),
        (
            f"{ENTERPRISE_USER}:department",
            [{"op": "replace", "path": f"{ENTERPRISE_USER}:department", "value": "Eng"}],
        ),
        (
            "urn:example:idp:1.0:User:badge",
            [{"op": "replace", "path": "urn:example:idp:1.0:User:badge", "value": "7"}],
        ),
        ("manager", None),  # the manager s9 has no target account: nothing to point at
    ],
)
def test_attribute_patch_sets_the_source_value(attribute: str, expected: object) -> None:
    assert attribute_patch(attribute, SOURCE) == expected


def test_manager_points_at_the_matched_target_account() -> None:
    assert attribute_patch("manager", SOURCE, manager_target_id="t9") == [
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": "t9"}}
    ]


def test_user_create_drops_server_owned_and_unknown_extensions_and_sets_match_attributes() -> None:
    body = user_create("s1", json.dumps(SOURCE), match_rules=[("id", "externalId"), ("userName", "userName")])
    assert body == {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER],
        "externalId": "s1",
        "userName": "ann@x",
        "name": {"givenName": "Ann", "familyName": ""},
        "emails": SOURCE["emails"],
        ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "s9"}},
    }


def test_group_create() -> None:
    raw = json.dumps(
        {"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Ops", "members": [{"value": "x"}]}
    )
    body = group_create("g1", raw, [{"value": "t1", "type": "User"}], match_rules=[("id", "externalId")])
    assert body == {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Ops",
        "externalId": "g1",
        "members": [{"value": "t1", "type": "User"}],
    }


def builder(max_bytes: int) -> RemedyBuilder:
    return RemedyBuilder(
        match_rules=[("id", "externalId")],
        group_match_rules=[("id", "externalId")],
        use_if_match=True,
        delete_orphans=False,
        max_operation_bytes=max_bytes,
        id_budget=36,
    )


def test_a_group_too_big_for_one_request_is_split_into_a_post_and_member_patches() -> None:
    remedies = builder(600)
    raw = json.dumps({"schemas": [GROUP_SCHEMA], "id": "big", "displayName": "Everyone"})
    remedies.add_finding({"kind": "group_missing_in_target", "group_id": "big", "source_raw": raw})
    for n in range(40):
        remedies.add_new_membership(
            {
                "source_group_id": "big",
                "group_is_new": True,
                "target_group_id": None,
                "member_type": "User",
                "member_is_new": False,
                "target_member_id": f"target-user-{n:04d}",
                "source_member_id": f"s{n}",
            }
        )
    planned = remedies.operations()
    ops = [p.operation for p in planned]
    assert ops[0].method == "POST" and all(op.method == "PATCH" for op in ops[1:]) and len(ops) > 2
    assert all(op.path == f"/Groups/bulkId:{ops[0].bulk_id}" and op.version is None for op in ops[1:])
    members = [m["value"] for m in (ops[0].data or {}).get("members", [])]
    for op in ops[1:]:
        [add] = (op.data or {})["Operations"]
        members += [m["value"] for m in add["value"]]
    assert members == [f"target-user-{n:04d}" for n in range(40)]
    for op in ops:  # each fits a request of 600 bytes of operations + the envelope
        assert len(orjson.dumps(op.to_json())) <= 600
    assert len(chunk_operations(ops, max_operations=100, max_payload_size=700)) >= 1


def test_removals_and_additions_of_a_large_existing_group_keep_if_match_on_the_first_part_only() -> None:
    remedies = builder(700)
    for n in range(30):
        remedies.add_finding(
            {
                "kind": "membership_excess",
                "target_group_id": "tg",
                "target_id": f"gone-{n:03d}",
                "target_version": 'W/"5"',
                "group_id": "g",
                "source_id": f"s{n}",
            }
        )
        remedies.add_finding(
            {
                "kind": "membership_missing",
                "target_group_id": "tg",
                "target_id": f"new-{n:03d}",
                "target_version": 'W/"5"',
                "group_id": "g",
                "source_id": f"x{n}",
                "member_type": "User",
            }
        )
    ops = [p.operation for p in remedies.operations()]
    assert len(ops) > 1 and ops[0].version == 'W/"5"' and all(op.version is None for op in ops[1:])
    removed = [o["path"] for op in ops for o in (op.data or {})["Operations"] if o["op"] == "remove"]
    added = [
        m["value"]
        for op in ops
        for o in (op.data or {})["Operations"]
        if o["op"] == "add"
        for m in o["value"]
    ]
    assert removed == [f'members[value eq "gone-{n:03d}"]' for n in range(30)]
    assert added == [f"new-{n:03d}" for n in range(30)]
