"""Given/expected tables for sql/deltas_*.sql."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from recon.engine import Input, open_session
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from tests.tables import values

W = datetime(2026, 1, 5, 2, tzinfo=UTC)


def rows_of(name: str, params: dict[str, Any] | None, inputs: dict[str, Input]) -> list[tuple[Any, ...]]:
    """The rows of ``sql/<name>.sql`` over ``inputs``, on a session of the default engine."""
    with open_session() as session:
        return session.tuples(session.run(name, params, inputs))


def returned(delta: pa.Table, matching: pa.Table) -> pa.Table:
    """The ``returned`` input of the compare statements: deltas_returned over the delta export."""
    with open_session() as session:
        inputs = {"delta_resources": delta, "delta_resources_matching": matching}
        return session.arrow(session.run("deltas_returned", None, inputs))


def member_changes(base: pa.Table, head: pa.Table) -> pa.Table:
    """The ``member_changes`` input of the groups' compare statements."""
    with open_session() as session:
        inputs = {"base_memberships": base, "head_memberships": head}
        return session.arrow(session.run("deltas_group_member_changes", None, inputs))


def members(text: str) -> pa.Table:
    """Memberships written ``group:member:type``, separated by spaces."""
    rows = [
        dict(zip(("group_id", "member_id", "member_type"), p.split(":"), strict=True)) for p in text.split()
    ]
    return pa.Table.from_pylist(rows, schema=MEMBERSHIPS)


def compared_by_prints(listing: str, kind: str, inputs: dict[str, Input]) -> list[tuple[Any, ...]]:
    """The compare rows of ``kind`` (users or groups) by prints: the ``listing`` statement, then
    deltas_texts_where_prints_differ, as recon.deltas runs them."""
    with open_session() as session:
        listed = session.run(listing, None, inputs, keep=True)
        texts = {
            "listed": listed,
            "base_resources": inputs[f"base_{kind}"],
            "head_resources": inputs[f"head_{kind}"],
        }
        return session.tuples(session.run("deltas_texts_where_prints_differ", None, texts))


def ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


CLASSIFIED = pa.schema(
    [
        ("resource_type", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("base_last_modified", pa.timestamp("us", tz="UTC")),
        ("head_last_modified", pa.timestamp("us", tz="UTC")),
        ("in_base", pa.bool_()),
        ("in_head", pa.bool_()),
        ("changed", pa.bool_()),
        ("returned", pa.bool_()),
        ("in_filter", pa.bool_()),
        ("changed_paths", pa.string()),
    ]
)


def classified(text: str) -> pa.Table:
    """Rows as 'id | base_lm | head_lm | in_base in_head changed returned in_filter' (flags as 0/1;
    tests/tables.py reads the cells)."""
    rows = []
    for rid, base, head, flags in values(text):
        b, h, c, r, f = (flag == "1" for flag in flags.split())
        rows.append(
            {
                "resource_type": "User",
                "id": rid,
                "name": rid.upper(),
                "base_last_modified": ts(base),
                "head_last_modified": ts(head),
                "in_base": b,
                "in_head": h,
                "changed": c,
                "returned": r,
                "in_filter": f,
                "changed_paths": "title" if c else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=CLASSIFIED)


GIVEN = classified(
    """
    changed_returned   | 2026-01-01 | 2026-01-05T03:00 | 1 1 1 1 1
    changed_missed     | 2026-01-01 | 2026-01-05T04:00 | 1 1 1 0 0
    changed_stale      | 2026-01-01 | 2026-01-01       | 1 1 1 0 0
    created_missed_w   | null       | 2026-01-05T02:00 | 0 1 0 0 0
    created_no_time    | null       | null             | 0 1 0 1 0
    deleted            | 2026-01-01 | null             | 1 0 0 0 0
    touched            | 2026-01-01 | 2026-01-05T03:00 | 1 1 0 1 1
    outside            | 2026-01-01 | 2026-01-01       | 1 1 0 1 0
    boundary_10s       | 2026-01-01 | 2026-01-05T01:59:50 | 1 1 1 0 0
    """
)


def test_findings_per_kind() -> None:
    found = rows_of("deltas_findings", {"watermark": W, "inclusive": False}, {"classified": GIVEN})
    assert sorted((r[0], r[2]) for r in found) == sorted(
        [
            ("missed_change", "changed_missed"),
            ("missed_change", "changed_stale"),
            ("stale_last_modified", "changed_stale"),
            ("missed_creation", "created_missed_w"),
            ("stale_last_modified", "created_missed_w"),
            ("stale_last_modified", "created_no_time"),
            ("outside_filter", "created_no_time"),
            ("unreported_deletion", "deleted"),
            ("unchanged_returned", "touched"),
            ("unchanged_returned", "outside"),
            ("outside_filter", "outside"),
            ("missed_change", "boundary_10s"),
            ("stale_last_modified", "boundary_10s"),
        ]
    )


def test_no_watermark_means_no_stale_rows() -> None:
    found = rows_of("deltas_findings", {"watermark": None, "inclusive": False}, {"classified": GIVEN})
    assert "stale_last_modified" not in {r[0] for r in found}


def test_counts_and_lag() -> None:
    counts = rows_of("deltas_counts", None, {"classified": GIVEN})
    # changed 4, created 2, deleted 1, returned 4, returned of changed-or-created 2
    assert counts == [("User", 4, 2, 1, 4, 2)]
    lag = rows_of("deltas_watermark_lag", {"watermark": W, "inclusive": False}, {"classified": GIVEN})
    # boundary: created_missed_w (0 s) and boundary_10s; changed_stale never advanced; changed_missed after W
    assert lag == [(2, 10.0, 1, 1)]
    inclusive = rows_of("deltas_watermark_lag", {"watermark": W, "inclusive": True}, {"classified": GIVEN})
    assert inclusive == [(1, 10.0, 1, 2)]


def user(uid: str, raw: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(USERS.names)
    row.update({"id": uid, "emails": [], "raw": json.dumps(raw or {"id": uid}), **values})
    return row


def compare_users(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    table = lambda rows: pa.Table.from_pylist(rows, schema=USERS)  # noqa: E731
    empty = table([])
    out = rows_of(
        "deltas_users_compare",
        None,
        {
            "base_users": table(base),
            "head_users": table(head),
            "returned": returned(empty, empty),
        },
    )
    return {row[1]: tuple(row) for row in out}


def test_users_are_candidates_only_where_their_raw_text_differs() -> None:
    base = [
        user("same", {"id": "same", "title": "a"}, user_name="a"),
        user("differs", {"id": "differs", "title": "a"}),
        user("columns_only", {"id": "columns_only"}, title="x"),
        user("gone"),
    ]
    head = [
        user("same", {"id": "same", "title": "a"}, user_name="a", last_modified=ts("2026-01-05")),
        user("differs", {"id": "differs", "title": "A"}),
        user("columns_only", {"id": "columns_only"}, title="y"),
        user("new"),
    ]
    out = compare_users(base, head)
    # type, id, name, base_lm, head_lm, in_base, in_head, candidate, members_changed, base_raw, head_raw
    flags = {rid: (r[5], r[6], r[7]) for rid, r in out.items()}
    assert flags == {"differs": (True, True, True), "gone": (True, False, False), "new": (False, True, False)}
    assert json.loads(out["differs"][9]) == {"id": "differs", "title": "a"}
    assert json.loads(out["differs"][10]) == {"id": "differs", "title": "A"}
    assert out["gone"][9] is None and out["new"][10] is None


def test_group_content_members_and_names() -> None:
    def groups(*ids: str) -> pa.Table:
        return pa.Table.from_pylist(
            [{"id": i, "display_name": i, "raw": json.dumps({"id": i})} for i in ids], schema=GROUPS
        )

    empty = groups()
    out = rows_of(
        "deltas_groups_compare",
        None,
        {
            "base_groups": groups("same", "added", "removed", "retyped", "emptied"),
            "head_groups": groups("same", "added", "removed", "retyped", "emptied"),
            "member_changes": member_changes(
                members(
                    "same:u1:User same:u2:User added:u1:User removed:u1:User removed:u2:User "
                    "retyped:x:User emptied:u1:User"
                ),
                members(
                    "same:u2:User same:u1:User added:u1:User added:u2:User removed:u1:User retyped:x:Group"
                ),
            ),
            "returned": returned(empty, empty),
        },
    )
    # members_changed (column 8) marks exactly the groups whose member set changed
    assert sorted(r[1] for r in out if r[8]) == ["added", "emptied", "removed", "retyped"]
    assert all(r[7] == r[8] for r in out)  # identical raw texts: members are the only candidates


def test_a_deletion_the_delta_returned_is_not_unreported() -> None:
    """A Graph delta reports deletions (``@removed``): such a row is returned and not unreported."""
    given = classified(
        """
        removed | 2026-01-01 | null | 1 0 0 1 1
        deleted | 2026-01-01 | null | 1 0 0 0 0
        """
    )
    found = rows_of("deltas_findings", {"watermark": W, "inclusive": False}, {"classified": given})
    assert [(r[0], r[2]) for r in found] == [("unreported_deletion", "deleted")]


P1, P2 = b"\x01" * 32, b"\x02" * 32  # two content prints


def test_users_with_prints_are_compared_where_prints_differ_or_are_null() -> None:
    def meta(uid: str, lm: str, **attrs: Any) -> dict[str, Any]:
        return {"id": uid, "meta": {"lastModified": lm}, **attrs}

    base = [
        user("touched", meta("touched", "1"), content_sha256=P1),
        user("differs", meta("differs", "1", title="a"), content_sha256=P1),
        user("no_head_print", meta("no_head_print", "1", title="a"), content_sha256=P1),
        user("no_prints_same_text", meta("no_prints_same_text", "1")),
        user("gone", content_sha256=P1),
    ]
    head = [
        user("touched", meta("touched", "2"), content_sha256=P1),  # meta only: same print
        user("differs", meta("differs", "1", title="A"), content_sha256=P2),
        user("no_head_print", meta("no_head_print", "1", title="b")),
        user("no_prints_same_text", meta("no_prints_same_text", "1")),
        user("new", content_sha256=P2),
    ]
    table = lambda rows: pa.Table.from_pylist(rows, schema=USERS)  # noqa: E731
    delta = table([user("touched", meta("touched", "2"), content_sha256=P1)])
    found = compared_by_prints(
        "deltas_users_listed_by_prints",
        "users",
        {
            "base_users": table(base),
            "head_users": table(head),
            "returned": returned(delta, delta),
        },
    )
    out = {row[1]: row for row in found}
    # in_base, in_head, candidate, returned
    flags = {rid: (r[5], r[6], r[7], r[11]) for rid, r in out.items()}
    assert flags == {
        "touched": (True, True, False, True),  # listed because returned; equal prints: no candidate
        "differs": (True, True, True, False),
        "no_head_print": (True, True, True, False),
        "no_prints_same_text": (True, True, False, False),  # null prints: texts compared, equal
        "gone": (True, False, False, False),
        "new": (False, True, False, False),
    }
    assert json.loads(out["differs"][9])["title"] == "a" and json.loads(out["differs"][10])["title"] == "A"
    assert json.loads(out["no_head_print"][10])["title"] == "b"
    assert out["touched"][9] is None and out["touched"][10] is None


def test_groups_with_prints_compare_members_apart_from_the_other_attributes() -> None:
    def groups(*rows: tuple[str, bytes | None, str]) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "id": i,
                    "display_name": name,
                    "raw": json.dumps({"id": i, "displayName": name}),
                    "content_sha256": p,
                }
                for i, p, name in rows
            ],
            schema=GROUPS,
        )

    empty = groups()
    found = compared_by_prints(
        "deltas_groups_listed_by_prints",
        "groups",
        {
            "base_groups": groups(("same", P1, "s"), ("renamed", P1, "r"), ("joined", P1, "j")),
            "head_groups": groups(("same", P1, "s"), ("renamed", P2, "R"), ("joined", P1, "j")),
            "member_changes": member_changes(
                members("same:u1:User joined:u1:User"), members("same:u1:User joined:u1:User joined:u2:User")
            ),
            "returned": returned(empty, empty),
        },
    )
    out = {row[1]: row for row in found}
    # candidate, members_changed, base raw, head raw
    assert {rid: (r[7], r[8], r[9] is not None, r[10] is not None) for rid, r in out.items()} == {
        "renamed": (True, False, True, True),
        "joined": (True, True, False, False),  # members through the memberships; same print: no texts
    }
