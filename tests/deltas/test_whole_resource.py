"""Issue 15's three reported failures, reproduced end to end with `recon import` + `recon deltas`.

1. phoneNumbers, roles or the enterprise costCenter changed without a lastModified bump were not
   reported (completeness 100%, three changes silently dropped);
2. a returned user whose phone number really changed was reported unchanged_returned;
3. a userName or emails[].value only re-cased (caseExact=false) was reported missed_change +
   stale_last_modified and lowered completeness.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.deltas import deltas
from recon.extract.files import import_files
from recon.store import Store

U = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
W = "2026-01-05T02:00:00Z"
OLD = "2026-01-04T10:00:00Z"
NEW = "2026-01-05T03:00:00Z"


def user(uid: str, lm: str = OLD, **attrs: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [U, ENT],
        "id": uid,
        "userName": f"{uid}@example.com",
        "emails": [{"value": f"{uid}@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "roles": [{"value": "reader"}],
        ENT: {"costCenter": "CC-1", "department": "IT"},
        "meta": {"resourceType": "User", "lastModified": lm, "version": 'W/"1"'},
    }
    body.update(attrs)
    return body


def run(tmp_path: Path, base: list[dict[str, Any]], head: list[dict[str, Any]], returned: set[str]) -> Any:
    store = Store(tmp_path / "data")
    for name, resources, cycle, kind in (
        ("base", base, "c1", "full"),
        ("head", head, "c2", "full"),
        ("delta", [r for r in head if r["id"] in returned], "c2", "delta"),
    ):
        path = tmp_path / f"{name}.ndjson"
        page = {  # one ListResponse page; an empty export says "totalResults": 0 (a bare [] is refused)
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources),
            "Resources": resources,
        }
        path.write_text(json.dumps(page))
        extra = {"since": W} if kind == "delta" else {}
        import_files(store, [path], system="idp", cycle=cycle, kind=kind, **extra)  # type: ignore[arg-type]
    return deltas(store, "idp")


def findings(summary: Any) -> dict[tuple[str, str], str]:
    frame = pl.read_parquet(summary.findings_path)
    return {(r["kind"], r["id"]): r["detail"] for r in frame.iter_rows(named=True)}


def test_changes_outside_the_normalised_columns_without_a_bump_are_missed_changes(tmp_path: Path) -> None:
    base = [user("phone"), user("role"), user("cost"), user("same")]
    head = [
        user("phone", phoneNumbers=[{"value": "+1 555 0199", "type": "work"}]),
        user("role", roles=[{"value": "reader"}, {"value": "admin"}]),
        user("cost", **{ENT: {"costCenter": "CC-2", "department": "IT"}}),
        user("same"),
    ]
    summary = run(tmp_path, base, head, returned=set())
    found = findings(summary)
    assert set(found) == {
        (k, i) for k in ("missed_change", "stale_last_modified") for i in ("phone", "role", "cost")
    }
    assert found[("missed_change", "phone")].endswith(": phoneNumbers")
    assert found[("missed_change", "role")].endswith(": roles")
    assert found[("stale_last_modified", "cost")].endswith(f": {ENT}:costCenter")
    assert summary.completeness == 0.0
    assert summary.by_type["User"]["changed"] == 3
    assert summary.by_path["User"]["roles"] == {
        "changed": 1,
        "returned": 0,
        "missed": 1,
        "stale_last_modified": 1,
    }


def test_a_returned_user_whose_phone_changed_is_not_unchanged_returned(tmp_path: Path) -> None:
    base = [user("phone"), user("touched")]
    head = [user("phone", NEW, phoneNumbers=[{"value": "+1 555 0199", "type": "work"}]), user("touched", NEW)]
    summary = run(tmp_path, base, head, returned={"phone", "touched"})
    found = findings(summary)
    assert set(found) == {("unchanged_returned", "touched")}
    assert found[("unchanged_returned", "touched")].endswith("no attribute changed")
    assert summary.completeness == 1.0
    assert summary.by_path["User"] == {
        "phoneNumbers": {"changed": 1, "returned": 1, "missed": 0, "stale_last_modified": 0}
    }


def test_re_cased_case_insensitive_values_are_not_changes(tmp_path: Path) -> None:
    base = [user("recased"), user("reordered", roles=[{"value": "a"}, {"value": "b"}]), user("real")]
    head = [
        user(
            "recased",
            userName="RECASED@Example.com",
            emails=[{"value": "Recased@EXAMPLE.com", "type": "Work", "primary": True}],
        ),
        user("reordered", roles=[{"value": "b"}, {"value": "a"}], title=""),  # "" is unassigned
        user("real", NEW, title="Boss"),
    ]
    summary = run(tmp_path, base, head, returned={"real"})
    assert findings(summary) == {}
    assert summary.completeness == 1.0
    assert summary.by_type["User"]["changed"] == 1
    written = json.loads((summary.findings_path.parent / "summary.json").read_text())
    assert written["changed_paths"]["User"] == {
        "title": {"changed": 1, "returned": 1, "missed": 0, "stale_last_modified": 0}
    }
    assert written["content_schema"].startswith("RFC 7643")


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"active": True}, {"active": "true"}, ["active"]),  # a JSON type change is a change
        (
            {"x509Certificates": [{"value": "TUlJQw=="}]},
            {"x509Certificates": [{"value": "tuljqw=="}]},
            ["x509Certificates"],
        ),
        ({"externalId": "abc"}, {"externalId": "ABC"}, ["externalId"]),  # caseExact=true in RFC 7643
    ],
)
def test_type_changes_and_case_exact_values_are_changes(
    tmp_path: Path, before: dict[str, Any], after: dict[str, Any], changed: list[str]
) -> None:
    summary = run(tmp_path, [user("u", **before)], [user("u", **after)], returned=set())
    assert findings(summary)[("missed_change", "u")].endswith(": " + ", ".join(changed))
