"""bulk analyze decides whether a value landed with recon.content (RFC 7643 content rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.bulk.analyze import analyze_files
from recon.bulk.model import BULK_REQUEST, BULK_RESPONSE, PATCH_OP
from recon.extract.normalize import ENTERPRISE_USER, USER_SCHEMA
from recon.store import Store
from tests.bulk.helpers import user, write_export

BASE = "https://t.example/v2"
BOB_NOT_PRIMARY = [{"value": "bob@x", "type": "home", "primary": False}]
EMAILS = [
    {"value": "Ann@Example.com", "type": "work", "primary": True},
    {"value": "ann@home.example", "type": "home"},
]


@pytest.fixture
def target(store: Store) -> Store:
    """The target after the run, as the server re-serialised it (re-cased, reordered)."""
    write_export(
        store,
        "app",
        "c2",
        [
            user(
                "u1",
                "ANN@EXAMPLE.COM",
                active=True,
                emails=list(reversed(EMAILS)),
                name={"givenName": "ann", "familyName": "Lee", "formatted": "ann Lee"},
                department="Eng",
            ),
            user("u2", "bob@x", emails=[{"value": "bob@x", "type": "home", "primary": True}]),
        ],
    )
    return store


def analyze(store: Store, tmp_path: Path, operations: list[dict[str, Any]]) -> pl.DataFrame:
    request = {"schemas": [BULK_REQUEST], "Operations": operations}
    results = [
        {"method": op["method"], "bulkId": op["bulkId"], "status": "200" if op["method"] != "POST" else "201"}
        | ({"location": f"{BASE}/Users/{op['id']}"} if op["method"] == "POST" else {})
        for op in operations
    ]
    for op in operations:
        op.pop("id", None)
    req, resp = tmp_path / "req.json", tmp_path / "resp.json"
    req.write_text(json.dumps(request))
    resp.write_text(json.dumps({"schemas": [BULK_RESPONSE], "Operations": results}))
    _, frame = analyze_files(store, "app", pairs=[(req, resp)])
    return frame


def patch(bulk_id: str, uid: str, op: str, path: str, value: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        body["value"] = value
    return {
        "method": "PATCH",
        "bulkId": bulk_id,
        "path": f"/Users/{uid}",
        "data": {"schemas": [PATCH_OP], "Operations": [body]},
    }


def outcomes(frame: pl.DataFrame) -> dict[str, tuple[str, str | None]]:
    return {r["bulk_id"]: (r["outcome"], r["unmet"]) for r in frame.iter_rows(named=True)}


def test_case_only_and_order_only_differences_are_the_value_sent(target: Store, tmp_path: Path) -> None:
    frame = analyze(
        target,
        tmp_path,
        [
            # userName and emails[].value are caseExact false (RFC 7643 §4.1.1, §4.1.2)
            patch("recased", "u1", "replace", "userName", "ann@example.com"),
            # multi-valued: a set, the server's order does not count
            patch("reordered", "u1", "replace", "emails", EMAILS),
            patch("given", "u1", "replace", "name.givenName", "ANN"),
            patch("dept", "u1", "replace", f"{ENTERPRISE_USER}:department", "eng"),
            {
                "method": "POST",
                "bulkId": "created",
                "path": "/Users",
                "id": "u1",  # the created resource, as the server shows it
                "data": {
                    "schemas": [USER_SCHEMA],
                    "userName": "ann@example.com",
                    "emails": EMAILS,
                    "name": {"givenName": "Ann", "familyName": "LEE"},  # formatted: the server's own
                },
            },
        ],
    )
    assert outcomes(frame) == {
        "recased": ("applied", None),
        "reordered": ("applied", None),
        "given": ("applied", None),
        "dept": ("applied", None),
        "created": ("applied", None),
    }


def test_a_real_sub_attribute_change_is_not_the_value_sent(target: Store, tmp_path: Path) -> None:
    changed = [dict(EMAILS[0]), dict(EMAILS[1], type="other")]  # one element's type differs
    frame = analyze(
        target,
        tmp_path,
        [
            patch("type", "u1", "replace", "emails", changed),
            patch("value", "u1", "replace", "userName", "ann@example.org"),
            patch(
                "primary", "u2", "replace", "emails", [{"value": "bob@x", "type": "home", "primary": False}]
            ),
            patch("gone", "u1", "remove", "name.givenName"),
            patch("added", "u2", "add", "emails", [{"value": "bob@work.example", "type": "work"}]),
        ],
    )
    got = outcomes(frame)
    assert {k: v[0] for k, v in got.items()} == {
        "type": "reported_ok_not_applied",
        "value": "reported_ok_not_applied",
        "primary": "reported_ok_not_applied",  # true vs false: a boolean sub-attribute changed
        "gone": "reported_ok_not_applied",  # still assigned
        "added": "reported_ok_not_applied",  # the added address is not there
    }
    assert got["value"][1] == "user_name is 'ANN@EXAMPLE.COM', expected 'ann@example.org'"
    assert got["gone"][1] == "given_name is 'ann', expected unassigned"


def test_an_add_to_a_multi_valued_attribute_counts_the_values_added(target: Store, tmp_path: Path) -> None:
    frame = analyze(
        target,
        tmp_path,
        [patch("added", "u1", "add", "emails", [{"value": "ANN@HOME.EXAMPLE", "type": "Home"}])],
    )
    assert outcomes(frame) == {"added": ("applied", None)}  # already among the others, re-cased
