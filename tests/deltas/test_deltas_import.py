"""recon deltas on hand-built exports imported from NDJSON (recon import, --kind delta --since / --filter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.deltas import deltas
from recon.errors import DataNotFound, UsageError
from recon.extract.files import import_files
from recon.store import Store

U = "urn:ietf:params:scim:schemas:core:2.0:User"
G = "urn:ietf:params:scim:schemas:core:2.0:Group"
W = "2026-01-05T02:00:00Z"
BEFORE = "2026-01-04T10:00:00Z"


def u(uid: str, name: str, lm: str | None = BEFORE, **attrs: Any) -> dict[str, Any]:
    meta = {"lastModified": lm} if lm else {}
    return {"schemas": [U], "id": uid, "userName": name, "meta": meta, **attrs}


def g(gid: str, name: str, members: list[str], lm: str | None = BEFORE) -> dict[str, Any]:
    return {
        "schemas": [G],
        "id": gid,
        "displayName": name,
        "members": [{"value": m, "type": "User"} for m in members],
        "meta": {"lastModified": lm},
    }


EMAILS = [{"value": "erin@x.com", "type": "work", "primary": True}, {"value": "e@home.org", "type": "home"}]
BASE = [
    u("u1", "alice", title="Eng"),
    u("u2", "bob", title="Eng"),
    u("u3", "carol"),
    u("u4", "dave"),
    u("u5", "erin", emails=EMAILS),
    u("u6", "frank", phoneNumbers=[{"value": "+1 555 0100", "type": "work"}]),
    u("u9", "ivan", title="Eng"),
    u("u10", "judy"),
    u("u12", "lena", active=True),
    g("g1", "Staff", ["u1", "u2"]),
    g("g2", "Admins", ["u1"]),
    g("g3", "Empty", []),
    g("g4", "Ops", ["u1"]),
]
HEAD = [
    u("u1", "alice", title="Eng"),  # unchanged, not returned
    u("u2", "bob", "2026-01-05T03:00:00Z", title="Manager"),  # changed and returned
    u("u4", "dave", "2026-01-05T04:00:00Z"),  # lastModified bumped, nothing changed
    u("u5", "erin", "2026-01-05T07:00:00+02:00", emails=EMAILS[::-1]),  # emails reordered only
    # a phone number changed (and userName re-cased, not a change: caseExact=false); not bumped
    u("u6", "Frank", phoneNumbers=[{"value": "+1 555 0199", "type": "work"}]),
    u("u7", "kim", "2026-01-05T06:00:00Z"),  # created and returned
    u("u8", "liam", W),  # created in the watermark's second: not after it
    u("u9", "ivan", "2026-01-05T01:59:30Z", title="Lead"),  # changed 30 s before the watermark
    u("u10", "judy"),  # unchanged, yet returned (outside the filter)
    u("u11", "mia", None),  # created without meta.lastModified
    u("u12", "lena", "2026-01-05T08:00:00Z", active=False),  # changed after the watermark, not returned
    g("g1", "Staff", ["u1", "u2", "u4"]),  # membership-only change, lastModified not bumped
    g("g2", "Administrators", ["u1"], "2026-01-05T03:00:00Z"),  # renamed, returned
    g("g3", "Empty", []),
    g("g4", "OPS", ["u1"]),  # displayName re-cased only: not a change (caseExact=false)
]
RETURNED = {"u2", "u4", "u5", "u7", "u10", "g2"}
EXPECTED = {
    ("missed_change", "User", "u6", "Frank"),
    ("stale_last_modified", "User", "u6", "Frank"),
    ("unreported_deletion", "User", "u3", "carol"),
    ("unchanged_returned", "User", "u4", "dave"),
    ("unchanged_returned", "User", "u5", "erin"),
    ("unchanged_returned", "User", "u10", "judy"),
    ("outside_filter", "User", "u10", "judy"),
    ("missed_creation", "User", "u8", "liam"),
    ("stale_last_modified", "User", "u8", "liam"),
    ("missed_change", "User", "u9", "ivan"),
    ("stale_last_modified", "User", "u9", "ivan"),
    ("missed_creation", "User", "u11", "mia"),
    ("stale_last_modified", "User", "u11", "mia"),
    ("missed_change", "User", "u12", "lena"),
    ("missed_change", "Group", "g1", "Staff"),
    ("stale_last_modified", "Group", "g1", "Staff"),
}


def _write(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    return path


def load(tmp_path: Path, store: Store, **delta: Any) -> None:
    import_files(store, [_write(tmp_path / "base.ndjson", BASE)], system="idp", cycle="c1")
    import_files(store, [_write(tmp_path / "head.ndjson", HEAD)], system="idp", cycle="c2")
    returned = [r for r in HEAD if r["id"] in RETURNED]
    import_files(
        store, [_write(tmp_path / "delta.ndjson", returned)], system="idp", cycle="c2", kind="delta", **delta
    )


def rows(path: Path) -> set[tuple[str, ...]]:
    frame = pl.read_parquet(path)
    return {(r["kind"], r["resource_type"], r["id"], r["name"]) for r in frame.iter_rows(named=True)}


def test_since_delta_findings_summary_and_lag(tmp_path: Path, store: Store) -> None:
    load(tmp_path, store, since=W)
    summary = deltas(store, "idp")  # defaults: head = latest delta (c2), base = full before it (c1)
    assert (summary.base, summary.head) == ("c1", "c2")
    assert rows(summary.findings_path) == EXPECTED
    frame = pl.read_parquet(summary.findings_path)
    u9 = frame.filter(pl.col("id") == "u9", pl.col("kind") == "missed_change").row(0, named=True)
    assert u9["base_last_modified"] == datetime(2026, 1, 4, 10, tzinfo=UTC)
    assert u9["head_last_modified"] == datetime(2026, 1, 5, 1, 59, 30, tzinfo=UTC)
    assert summary.by_type["User"] == {
        "changed": 4,
        "created": 3,
        "deleted": 1,
        "returned": 5,
        "returned_of_moved": 2,
    }
    assert summary.by_type["Group"] == {
        "changed": 2,
        "created": 0,
        "deleted": 0,
        "returned": 1,
        "returned_of_moved": 1,
    }
    assert summary.completeness == pytest.approx(3 / 9)
    assert summary.watermark == W
    assert summary.filter == f'meta.lastModified gt "{W}"'
    # u8 (same second) needs 1 s, u9 (30 s before) needs 31 s; u6, u11 and g1 never advanced
    assert (summary.watermark_lag_seconds, summary.boundary_misses) == (31, 2)
    assert (summary.not_catchable_misses, summary.after_watermark_misses) == (3, 1)
    written = json.loads((summary.findings_path.parent / "summary.json").read_text())
    assert written["completeness"] == pytest.approx(3 / 9)
    assert written["counts"] == {
        "missed_change": 4,
        "missed_creation": 2,
        "unreported_deletion": 1,
        "unchanged_returned": 3,
        "stale_last_modified": 5,
        "outside_filter": 1,
    }
    assert (written["changed"], written["created"], written["deleted"], written["returned"]) == (6, 3, 1, 6)
    assert written["watermark_lag_seconds"] == 31
    assert written["base"] == "c1" and written["system"] == "idp" and written["tool_version"]


def test_inclusive_filter_changes_the_boundary(tmp_path: Path, store: Store) -> None:
    load(tmp_path, store, filter_expr=f'meta.lastModified ge "{W}"')
    summary = deltas(store, "idp", base="c1", head="c2")
    found = rows(summary.findings_path)
    # stamped exactly at the watermark: ge would have returned it, so not stale; a missed creation still
    assert ("stale_last_modified", "User", "u8", "liam") not in found
    assert ("missed_creation", "User", "u8", "liam") in found
    assert found == EXPECTED - {("stale_last_modified", "User", "u8", "liam")}
    assert summary.watermark == W and summary.watermark_lag_seconds == 30
    assert (summary.boundary_misses, summary.after_watermark_misses) == (1, 2)


def test_arbitrary_filter_decides_outside_filter_without_a_watermark(tmp_path: Path, store: Store) -> None:
    load(tmp_path, store, filter_expr='userName sw "d" or displayName eq "ADMINISTRATORS"')
    summary = deltas(store, "idp")
    found = rows(summary.findings_path)
    # returned but not matching the filter: bob, erin, kim, judy; dave and the group match it
    assert {r[2] for r in found if r[0] == "outside_filter"} == {"u2", "u5", "u7", "u10"}
    assert not any(r[0] == "stale_last_modified" for r in found)
    assert summary.watermark is None and summary.watermark_lag_seconds is None
    assert any("no watermark" in note for note in summary.notes)


def test_missing_or_inconsistent_inputs_are_clear_errors(tmp_path: Path, store: Store) -> None:
    with pytest.raises(DataNotFound, match="no complete delta export"):
        deltas(store, "idp")
    load(tmp_path, store, since=W)
    with pytest.raises(UsageError, match="must be an earlier cycle"):
        deltas(store, "idp", base="c2", head="c2")
    with pytest.raises(DataNotFound, match="c0"):
        deltas(store, "idp", base="c0", head="c2")
