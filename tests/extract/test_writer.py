"""ExportWriter: users streamed in id order and users sorted by DuckDB give the same bytes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import recon.row_groups as row_groups_module
from recon.engine import open_session
from recon.extract.columns import users_batch
from recon.extract.normalize import ENTERPRISE_USER, USER_SCHEMA, normalise
from recon.extract.writer import ExportWriter
from recon.store import Manifest

GROUP_ROWS = 500  # small row groups, so a few thousand users span several
Feed = list[tuple[str, list[dict[str, Any]]]]  # ("batch" | "rows", resources)


def user(i: int, name: str = "") -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER],
        "id": f"u{i:05d}-é" if i % 7 == 0 else f"u{i:05d}",
        "userName": name or f"user{i}@example.com",
        "active": i % 3 != 0,
        "name": {"givenName": f"Given{i}", "familyName": "Ødegård"},
        "emails": [{"value": f"w{i}@x", "type": "work", "primary": True}][: i % 2],
        ENTERPRISE_USER: {"department": ["R&D", "Sales", None][i % 3]},
        "meta": {"created": "2025-06-01T08:00:00Z", "lastModified": f"2026-01-01T10:{i % 60:02d}:00+01:00"},
    }


def export(tmp_path: Path, name: str, feed: Feed) -> tuple[bytes, Manifest]:
    """Feed ("batch"|"rows", resources) parts to a writer; the users table's bytes and the manifest."""
    staging = tmp_path / name
    staging.mkdir()
    writer = ExportWriter(staging, batch_rows=300)
    for how, resources in feed:
        if how == "batch":
            batch = users_batch(resources)
            assert batch is not None
            writer.add_users(batch)
        else:
            for resource in resources:
                writer.add(normalise(resource))
    con = open_session(memory_limit="256MB")
    try:
        manifest = writer.finish(con, Manifest(system="s", cycle="c", kind="full"))
    finally:
        con.close()
    assert not (staging / "_received").exists()
    return (staging / "users.parquet").read_bytes(), manifest


def pages(resources: list[dict[str, Any]], how: str, size: int = 250) -> Feed:
    return [(how, resources[i : i + size]) for i in range(0, len(resources), size)]


@pytest.fixture(autouse=True)
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_groups_module, "ROW_GROUP_ROWS", GROUP_ROWS)


def test_in_order_out_of_order_and_duplicates_give_the_same_users_file(tmp_path: Path) -> None:
    users = sorted((user(i) for i in range(2600)), key=lambda u: u["id"])
    shuffled = users[:]
    random.Random(7).shuffle(shuffled)
    late_copy = [*users[:1700], user(5, name="second-copy@example.com"), *users[1700:]]

    streamed, manifest = export(tmp_path, "streamed", pages(users, "batch"))
    rows, _ = export(tmp_path, "rows", pages(users, "rows"))
    mixed, _ = export(tmp_path, "mixed", [*pages(users[:1000], "rows"), *pages(users[1000:], "batch")])
    sorted_by_duckdb, _ = export(tmp_path, "shuffled", pages(shuffled, "batch"))
    deduped, dup_manifest = export(tmp_path, "late-copy", pages(late_copy, "batch"))

    assert streamed == rows == mixed == sorted_by_duckdb == deduped
    assert manifest.rows["users"] == 2600 and manifest.duplicates_dropped == 0
    assert dup_manifest.duplicates_dropped == 1
    assert [a["kind"] for a in dup_manifest.anomalies] == ["duplicate_ids"]

    table = pq.read_table(tmp_path / "late-copy" / "users.parquet")
    ids = table.column("id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == 2600
    assert table.column("user_name")[ids.index("u00005")].as_py() == "user5@example.com"  # the first copy
    metadata = pq.ParquetFile(tmp_path / "streamed" / "users.parquet").metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [500] * 5 + [100]


def test_no_users_gives_an_empty_table(tmp_path: Path) -> None:
    empty, manifest = export(tmp_path, "empty", [])
    assert manifest.rows == {"users": 0, "groups": 0, "memberships": 0}
    assert pq.read_table(tmp_path / "empty" / "users.parquet").num_rows == 0
    assert empty


def group(i: int, members: list[tuple[str, str | None]], name: str = "") -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": f"g{i:04d}",
        "displayName": name or f"Group {i}",
        "members": [{"value": value, "type": kind} if kind else {"value": value} for value, kind in members],
        "meta": {"created": "2025-06-01T08:00:00Z"},
    }


def group_export(
    tmp_path: Path, name: str, resources: list[dict[str, Any]], *, as_columns: bool = False
) -> tuple[bytes, bytes, Manifest]:
    staging = tmp_path / name
    staging.mkdir()
    writer = ExportWriter(staging, batch_rows=300)
    for resource in resources:
        normalised = normalise(resource)
        if as_columns:  # the group's row, and its members as two lists in the order listed
            ids = [m["member_id"] for m in normalised.memberships]
            kinds = [m["member_type"] for m in normalised.memberships]
            writer.add_group(normalised.row, ids, kinds)
        else:
            writer.add(normalised)
    con = open_session(memory_limit="256MB")
    try:
        manifest = writer.finish(con, Manifest(system="s", cycle="c", kind="full"))
    finally:
        con.close()
    assert not (staging / "_received").exists()
    return (staging / "groups.parquet").read_bytes(), (staging / "memberships.parquet").read_bytes(), manifest


def test_groups_in_order_are_written_as_they_come_and_equal_the_sorted_ones(tmp_path: Path) -> None:
    rng = random.Random(3)
    groups = []
    for i in range(700):
        members: list[tuple[str, str | None]] = [
            (f"u{rng.randrange(3000):05d}", "User") for _ in range(i % 9)
        ]
        if i % 5 == 0 and members:
            members.append((members[0][0], "Group"))  # the same member again: the first copy is kept
        if i % 11 == 0:
            members.append((f"g{(i + 1) % 700:04d}", None))
        groups.append(group(i, members))
    shuffled = groups[:]
    rng.shuffle(shuffled)
    late = [*groups[:400], *groups[450:], *groups[400:450]]  # in order, then one out of order
    copy = [*groups[:300], group(5, [("u99999", "User")], name="second copy"), *groups[300:]]

    in_order = group_export(tmp_path, "in-order", groups)
    by_duckdb = group_export(tmp_path, "shuffled", shuffled)
    turned = group_export(tmp_path, "late", late)
    deduped = group_export(tmp_path, "copy", copy)

    assert in_order[:2] == by_duckdb[:2] == turned[:2] == deduped[:2]
    assert in_order[2].rows == by_duckdb[2].rows == deduped[2].rows
    assert in_order[2].duplicates_dropped == 0 and deduped[2].duplicates_dropped == 1
    memberships = pq.read_table(tmp_path / "in-order" / "memberships.parquet").to_pylist()
    keys = [(m["group_id"], m["member_id"]) for m in memberships]
    assert keys == sorted(set(keys))
    first = groups[5]["members"][0]["value"]
    assert {"group_id": "g0005", "member_id": first, "member_type": "User"} in memberships
    assert {"group_id": "g0000", "member_id": "g0001", "member_type": None} in memberships
    names = pq.read_table(tmp_path / "copy" / "groups.parquet").column("display_name").to_pylist()
    assert "second copy" not in names and len(names) == 700

    # members given as columns (add_group): the same bytes and counts, in order or not
    for label, resources, expected in (
        ("in-order", groups, in_order),
        ("late", late, turned),
        ("copy", copy, deduped),
        ("shuffled", shuffled, by_duckdb),
    ):
        columns = group_export(tmp_path, f"{label}-columns", resources, as_columns=True)
        assert columns[:2] == expected[:2], label
        assert columns[2].rows == expected[2].rows and columns[2].items_received == expected[2].items_received
        assert columns[2].duplicates_dropped == expected[2].duplicates_dropped
