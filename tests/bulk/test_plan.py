"""bulk plan: given findings and exports -> expected operations, order, If-Match and chunk files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recon.bulk.model import PATCH_OP, parse_request
from recon.bulk.plan import plan
from recon.capabilities import Capabilities, save_capabilities
from recon.errors import DataNotFound
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA
from recon.store import Store
from tests.bulk.helpers import group, user, write_export, write_findings

FINDINGS = [
    {
        "kind": "attribute_mismatch",
        "severity": "medium",
        "source_id": "s1",
        "target_id": "t1",
        "attribute": "department",
        "source_value": "Eng",
        "target_value": "Ops",
    },
    {"kind": "delayed_deactivation", "severity": "critical", "source_id": "s2", "target_id": "t2"},
    {"kind": "missing_in_target", "severity": "high", "source_id": "s3", "user_name": "carol@x"},
    {"kind": "orphaned_in_target", "severity": "critical", "target_id": "t5", "user_name": "eve@x"},
    {"kind": "orphaned_in_target", "severity": "low", "target_id": "t6", "user_name": "fred@x"},
    {
        "kind": "membership_missing",
        "severity": "medium",
        "source_id": "s4",
        "target_id": "t4",
        "group_id": "sg1",
        "target_group_id": "tg1",
    },
    {
        "kind": "membership_excess",
        "severity": "high",
        "source_id": "s2",
        "target_id": "t2",
        "group_id": "sg1",
        "target_group_id": "tg1",
    },
    {"kind": "group_missing_in_target", "severity": "medium", "group_id": "sg2", "group_name": "New Team"},
    {"kind": "group_missing_in_target", "severity": "medium", "group_id": "sg3", "group_name": "Sub Team"},
    {"kind": "ambiguous_match", "severity": "high", "source_id": "s8", "target_id": "t8"},
]


@pytest.fixture
def scenario(store: Store) -> Store:
    return build_scenario(store)


def build_scenario(store: Store) -> Store:
    """The idp and app exports and the findings above, at cycle c1."""
    write_export(
        store,
        "idp",
        "c1",
        [
            user(
                "s1",
                "alice@x",
                active=True,
                name={"givenName": "Alice"},
                department="Eng",
                meta={"version": 'W/"9"'},
                groups=[{"value": "sg1"}],
            ),
            user("s2", "bob@x", active=False),
            user(
                "s3",
                "carol@x",
                active=True,
                externalId="HR-3",
                title="Dev",
                emails=[{"value": "carol@x", "primary": True}],
                department="Eng",
                **{"urn:example:idp:1.0:User": {"badge": "7"}},
            ),
            user("s4", "dave@x", active=True),
            group("sg1", "Staff", ["s1", "s3", "s4"]),
            group("sg2", "New Team", ["s1", "s3", "g:sg3"]),
            group("sg3", "Sub Team", ["s4"]),
        ],
    )
    write_export(
        store,
        "app",
        "c1",
        [
            user("t1", "alice@x", externalId="s1", active=True, department="Ops", version='W/"1"'),
            user("t2", "bob@x", externalId="s2", active=True, version='W/"2"'),
            user("t4", "DAVE@x", active=True, version='W/"4"'),
            user("t5", "eve@x", active=True, version='W/"5"'),
            user("t6", "fred@x", active=False, version='W/"6"'),
            group("tg1", "Staff", ["t1", "t2"], externalId="sg1", version='W/"7"'),
        ],
    )
    write_findings(store, "idp", "app", "c1", FINDINGS)
    return store


def read_plan(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = json.loads((folder / "plan.json").read_text())
    ops = []
    for chunk in document["chunk_files"]:
        raw = (folder / chunk["file"]).read_bytes()
        assert len(raw) == chunk["bytes"]
        ops += json.loads(raw)["Operations"]
    return document, ops


def test_plan_operations_order_and_payloads(scenario: Store) -> None:
    summary = plan(scenario, "idp", "app")
    document, ops = read_plan(summary.out_dir)
    assert summary.out_dir == scenario.root / "plans/source=idp/target=app/cycle=c1"
    assert [(o["method"], o["path"], o.get("version")) for o in ops] == [
        ("PATCH", "/Users/t2", 'W/"2"'),
        ("PATCH", "/Users/t5", 'W/"5"'),
        ("POST", "/Users", None),
        ("POST", "/Groups", None),
        ("POST", "/Groups", None),
        ("PATCH", "/Groups/tg1", 'W/"7"'),
        ("PATCH", "/Users/t1", 'W/"1"'),
    ]
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert ops[0]["data"] == ops[1]["data"] == deactivate
    carol = ops[2]
    assert carol["data"] == {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER],
        "userName": "carol@x",
        "active": True,
        "externalId": "s3",  # match rule id -> externalId, so the next reconcile matches it
        "title": "Dev",
        "emails": [{"value": "carol@x", "primary": True}],
        ENTERPRISE_USER: {"department": "Eng"},
    }
    user_ref = f"bulkId:{carol['bulkId']}"
    sub, new = ops[3], ops[4]
    assert sub["data"] == {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Sub Team",
        "externalId": "sg3",
        "members": [{"value": "t4", "type": "User"}],
    }
    assert new["data"]["displayName"] == "New Team"
    assert new["data"]["members"] == [  # users, then nested groups, each by source id
        {"value": "t1", "type": "User"},
        {"value": user_ref, "type": "User"},
        {"value": f"bulkId:{sub['bulkId']}", "type": "Group"},
    ]
    assert ops[5]["data"]["Operations"] == [
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "t4", "type": "User"}, {"value": user_ref, "type": "User"}],
        },
        {"op": "remove", "path": 'members[value eq "t2"]'},
    ]
    assert ops[6]["data"]["Operations"] == [
        {"op": "replace", "path": f"{ENTERPRISE_USER}:department", "value": "Eng"}
    ]
    assert summary.operations == {
        "create_group": 2,
        "create_user": 1,
        "deactivate_user": 2,
        "update_group_members": 1,
        "update_user": 1,
    }
    assert summary.remediated == 8  # every finding but the inactive orphan and the ambiguous pair
    assert summary.skipped == {
        "ambiguous match: a person must decide which records belong together": 1,
        "orphaned account already inactive (delete with --delete-orphans)": 1,
    }
    assert summary.mode == "bulk (unverified)" and summary.chunks == 1
    assert summary.headline() == (
        "remediation plan idp -> app (cycle c1, dry run): 7 operations (2 create_group, 1 create_user, "
        "2 deactivate_user, 1 update_group_members, 1 update_user) in 1 BulkRequest chunk(s), "
        f"{summary.bytes:,} bytes -> {summary.out_dir}"
    )
    assert summary.bytes == (summary.out_dir / "chunk-0001.json").stat().st_size
    planned = {o["bulk_id"]: o for o in document["operations_planned"]}
    assert planned[carol["bulkId"]]["remediates"] == [{"kind": "missing_in_target", "source_id": "s3"}]
    assert planned[carol["bulkId"]]["lookup"] == [["externalId", "s3"], ["userName", "carol@x"]]
    # plan.json (recon-bulk-plan/2, one compact line) describes each operation of the chunks once,
    # in their order, with what the chunk does not say; what an operation depends on is in the chunk
    assert document["format"] == "recon-bulk-plan/2"
    assert (summary.out_dir / "plan.json").read_bytes().count(b"\n") == 1
    assert [o["bulk_id"] for o in document["operations_planned"]] == [o["bulkId"] for o in ops]
    assert all(
        list(o) == ["bulk_id", "kind", "target_id", "source_id", "lookup", "remediates"]
        for o in document["operations_planned"]
    )
    assert planned[ops[5]["bulkId"]]["kind"] == "update_group_members"
    assert planned[ops[5]["bulkId"]]["target_id"] == "tg1"
    assert parse_request({"Operations": [ops[5]]}, "chunk").operations[0].references() == [carol["bulkId"]]


def test_every_reference_follows_its_creation(scenario: Store) -> None:
    summary = plan(scenario, "idp", "app", max_operations=2)
    _, ops = read_plan(summary.out_dir)
    assert summary.chunks == 4
    created: set[str] = set()
    for op in ops:
        request = parse_request({"Operations": [op]}, "op")
        assert set(request.operations[0].references()) <= created, op
        if op["method"] == "POST":
            created.add(op["bulkId"])


def test_delete_orphans_and_capabilities(scenario: Store) -> None:
    save_capabilities(
        scenario,
        Capabilities(system="app", advertised={"bulk": {"supported": False}, "etag": {"supported": False}}),
    )
    summary = plan(scenario, "idp", "app", delete_orphans=True)
    _, ops = read_plan(summary.out_dir)
    assert [(o["method"], o["path"]) for o in ops[:3]] == [
        ("DELETE", "/Users/t5"),
        ("DELETE", "/Users/t6"),
        ("PATCH", "/Users/t2"),
    ]
    assert all("version" not in o for o in ops)  # the target does not support ETags
    assert summary.mode == "single"
    assert summary.skipped == {"ambiguous match: a person must decide which records belong together": 1}


def test_plan_from_no_findings_tells_what_to_run(store: Store) -> None:
    with pytest.raises(DataNotFound, match="run recon reconcile --source idp --target app first"):
        plan(store, "idp", "app")


def test_correlation_follows_the_rules_in_order_and_drops_ambiguous_pairs(store: Store) -> None:
    from recon.bulk.matches import reconcile_matches
    from recon.config import ReconcileConfig

    source = write_export(
        store,
        "idp",
        "c1",
        [
            user("s1", "ann@x"),  # rule 1: t1 has externalId s1
            user("s2", "Bob@x"),  # rule 2: userName, case-insensitively
            user("s3", "cy@x"),  # two targets with this userName: ambiguous
            user("s4", "dee@x"),  # rule 1 although the userNames differ: t5 carries externalId s4
            group("g1", "Staff"),
            group("g2", "Ops"),
        ],
    )
    target = write_export(
        store,
        "app",
        "c1",
        [
            user("t1", "ann@x", externalId="s1"),
            user("t2", "bob@X"),
            user("t3", "cy@x"),
            user("t4", "CY@x"),
            user("t5", "other@x", externalId="s4"),
            group("tg1", "staff"),
            group("tg2", "x", externalId="g2"),
        ],
    )
    matches = reconcile_matches(store, source, target, ReconcileConfig("idp", "app"))
    assert sorted(matches.users.rows()) == [("s1", "t1"), ("s2", "t2"), ("s4", "t5")]
    assert sorted(matches.groups.rows()) == [("g1", "tg1"), ("g2", "tg2")]
    assert matches.user_target_of("s2") == "t2" and matches.user_target_of("s3") is None


@pytest.mark.parametrize("new_groups", [True, False])
def test_user_matches_are_computed_only_when_the_plan_needs_them(store: Store, new_groups: bool) -> None:
    # needed to place existing users in created groups (and for manager references); the plan is
    # the same bytes whether or not they were computed
    from recon.bulk.matches import Matches, reconcile_matches

    build_scenario(store)
    if not new_groups:
        kept = [f for f in FINDINGS if f["kind"] != "group_missing_in_target"]
        write_findings(store, "idp", "app", "c1", kept)
    asked: list[bool] = []

    def matches(*args: Any, users: bool = True) -> Matches:
        asked.append(users)
        return reconcile_matches(*args, users=users)

    def forced(*args: Any, users: bool = True) -> Matches:
        return reconcile_matches(*args, users=True)

    lazy = plan(store, "idp", "app", out=store.root / "lazy", matches=matches)
    full = plan(store, "idp", "app", out=store.root / "full", matches=forced)
    assert asked == [new_groups]
    assert lazy.chunks == full.chunks >= 1
    for number in range(1, lazy.chunks + 1):
        name = f"chunk-{number:04d}.json"
        assert (lazy.out_dir / name).read_bytes() == (full.out_dir / name).read_bytes()


def test_a_plan_written_before_format_2_still_loads(scenario: Store) -> None:
    """recon-bulk-plan/1 (indented; each operation's chunk, method, path, If-Match and references
    repeated) is read as before: apply takes the kind and lookup of each operation from it."""
    from recon.bulk.planfile import load_plan

    summary = plan(scenario, "idp", "app")
    current = load_plan(summary.out_dir)
    document, ops = read_plan(summary.out_dir)
    by_id = {o["bulkId"]: o for o in ops}
    document["format"] = "recon-bulk-plan/1"
    document["operations_planned"] = [
        {
            **entry,
            "chunk": "chunk-0001.json",
            "method": by_id[entry["bulk_id"]]["method"],
            "path": by_id[entry["bulk_id"]]["path"],
            "if_match": by_id[entry["bulk_id"]].get("version"),
            "depends_on": [],
        }
        for entry in document["operations_planned"]
    ]
    (summary.out_dir / "plan.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    old = load_plan(summary.out_dir)
    assert old.chunks == current.chunks and old.plan_id == current.plan_id
    assert {k: (v["kind"], v["lookup"]) for k, v in old.operations.items()} == {
        k: (v["kind"], v["lookup"]) for k, v in current.operations.items()
    }
