"""The oracle against the shared semantics, on small hand-written directories (given -> expected rows)."""

from __future__ import annotations

from datetime import UTC, datetime

from recon.simulate.truth import delta_findings, findings, leavers
from tests.simulate.tables import directory, indexed, keys

SOURCE_USERS = """
u1  | null | ann@example.com   | true  | Ann   | Lee    | ann@example.com   | Engineer | Sales
u2  | null | bob@example.com   | true  | Bob   | Roe    | bob@example.com   | null     | Legal
u3  | null | cy@example.com    | true  | Cy    | Poe    | cy@example.com    | Analyst  | IT
u4  | null | di@example.com    | true  | Di    | Fox    | di@example.com    | Analyst  | IT
u5  | null | ed@example.com    | true  | Ed    | Oak    | ed@example.com    | Analyst  | IT
u6  | null | flo@example.com   | true  | Flo   | Ash    | flo@example.com   | Analyst  | IT
u7  | null | gus@example.com   | false | Gus   | Elm    | gus@example.com   | Analyst  | IT
u8  | null | hal@example.com   | true  | Hal   | Yew    | hal@example.com   | Analyst  | IT
u11 | null | kim@example.com   | false | Kim   | Ivy    | kim@example.com   | Analyst  | IT
u12 | null | lou@example.com   | true  | Lou   | Fir    | lou@example.com   | Analyst  | IT
u13 | null | max@example.com   | true  | Max   | Bay    | max@example.com   | Analyst  | IT
"""
TARGET_USERS = """
t1  | u1   | ann@example.com   | true  | Annie | Lee    | ANN@EXAMPLE.COM   | engineer | Sales
t2  | null | Bob@Example.com   | true  | Bob   | Roe    | bob@example.com   | ""       | Legal
t3  | ""   | cy@example.com    | true  | Cy    | Poe    | cy@example.com    | Analyst  | IT
t4a | u4   | di@example.com    | true  | Di    | Fox    | di@example.com    | Analyst  | IT
t4b | u4   | di2@example.com   | true  | Di    | Fox    | di@example.com    | Analyst  | IT
t5a | null | ed@example.com    | true  | Ed    | Oak    | ed@example.com    | Analyst  | IT
t5b | ""   | ED@example.com    | true  | Ed    | Oak    | ed@example.com    | Analyst  | IT
t6  | u6   | flo@example.com   | true  | Flo   | Ash    | flo@example.com   | Analyst  | IT
t6b | null | FLO@example.com   | true  | Flo   | Ash    | flo@example.com   | Analyst  | IT
t9  | null | temp@other.org    | null  | Tem   | P      | temp@other.org    | null     | null
t10 | null | old@other.org     | false | Old   | A      | old@other.org     | null     | null
t11 | u11  | kim@example.com   | true  | Kim   | Ivy    | kim@example.com   | Analyst  | IT
t12 | u12  | lou@example.com   | false | Lou   | Fir    | lou@example.com   | Analyst  | IT
t13 | u13  | max@example.com   | null  | Max   | Bay    | max@example.com   | Analyst  | null
"""


def test_users_correlate_by_rules_in_order_and_compare_after_normalisation() -> None:
    rows = findings(directory(SOURCE_USERS), directory(TARGET_USERS), [])
    assert keys(rows) == {
        # t1 matched by externalId: the title and email differ only in case; the given name differs
        ("attribute_mismatch", "medium", "u1", "t1", None, None, "name.givenName"),
        # u4 has two accounts with its id as externalId; u5 two without, same userName in any case
        ("ambiguous_match", "high", "u4", "t4a", None, None, None),
        ("ambiguous_match", "high", "u4", "t4b", None, None, None),
        ("ambiguous_match", "high", "u5", "t5a", None, None, None),
        ("ambiguous_match", "high", "u5", "t5b", None, None, None),
        # u6 was matched by the first rule, so the second rule never sees it: t6b is an orphan
        ("orphaned_in_target", "critical", None, "t6b", None, None, None),
        ("missing_in_target", "high", "u8", None, None, None, None),  # u7 is inactive: no finding
        ("orphaned_in_target", "critical", None, "t9", None, None, None),  # active absent = active
        ("orphaned_in_target", "low", None, "t10", None, None, None),
        ("delayed_deactivation", "critical", "u11", "t11", None, None, None),
        ("delayed_activation", "medium", "u12", "t12", None, None, None),
        ("attribute_mismatch", "medium", "u13", "t13", None, None, "department"),
    }
    mismatch = next(r for r in rows if r.attribute == "department")
    assert (mismatch.source_value, mismatch.target_value, mismatch.user_name) == (
        "IT",
        None,
        "max@example.com",
    )
    orphan = next(r for r in rows if r.target_id == "t6b")
    assert orphan.user_name == "FLO@example.com"  # the target's userName when there is no source


USERS = """
u1 | null | ann@example.com | true  | Ann | Lee | ann@example.com | null | null
u2 | null | bob@example.com | true  | Bob | Roe | bob@example.com | null | null
u3 | null | cy@example.com  | true  | Cy  | Poe | cy@example.com  | null | null
u4 | null | di@example.com  | false | Di  | Fox | di@example.com  | null | null
u5 | null | ed@example.com  | true  | Ed  | Oak | ed@example.com  | null | null
"""
ACCOUNTS = """
t1  | u1 | ann@example.com | true | Ann | Lee | ann@example.com | null | null
t2  | u2 | bob@example.com | true | Bob | Roe | bob@example.com | null | null
t4  | u4 | di@example.com  | true | Di  | Fox | di@example.com  | null | null
t5a | u5 | ed@example.com  | true | Ed  | Oak | ed@example.com  | null | null
t5b | u5 | ed@example.com  | true | Ed  | Oak | ed@example.com  | null | null
"""
GROUPS = """
g1 | null | admins
g2 | null | staff
g3 | null | sales
g4 | null | ops
g5 | null | eng
"""
TARGET_GROUPS = """
tg1  | g1   | admins
tg2  | null | STAFF
tg4a | g4   | ops
tg4b | g4   | ops
tg5  | g5   | eng
tg9  | null | slack-only
"""
MEMBERS = """
g1 | u1 | User
g2 | u1 | User
g2 | u2 | User
g2 | u3 | User
g4 | u1 | User
g2 | g5 | Group
g1 | g5 | Group
g2 | u5 | User
"""
TARGET_MEMBERS = """
tg2  | t1  | User
tg1  | t2  | User
tg2  | t2  | User
tg1  | t4  | User
tg4a | t1  | User
tg9  | t1  | User
tg1  | tg5 | Group
tg2  | t5a | User
"""


def test_groups_and_memberships_compare_through_both_correlations() -> None:
    source = directory(USERS, GROUPS, MEMBERS)
    target = directory(ACCOUNTS, TARGET_GROUPS, TARGET_MEMBERS)
    rows = findings(source, target, ["Admins"])
    assert keys(rows) == {
        ("group_missing_in_target", "medium", None, None, "g3", None, None),
        ("group_orphaned_in_target", "medium", None, None, None, "tg9", None),
        ("ambiguous_match", "high", None, None, "g4", "tg4a", None),
        ("ambiguous_match", "high", None, None, "g4", "tg4b", None),
        ("ambiguous_match", "high", "u5", "t5a", None, None, None),
        ("ambiguous_match", "high", "u5", "t5b", None, None, None),
        ("missing_in_target", "high", "u3", None, None, None, None),
        ("delayed_deactivation", "critical", "u4", "t4", None, None, None),
        # u1 is in admins (g1) at the source only; matched staff group by displayName in any case
        ("membership_missing", "medium", "u1", "t1", "g1", "tg1", None),
        # bob in admins only in the target: privileged (names compare case-insensitively) -> critical
        ("membership_excess", "critical", "u2", "t2", "g1", "tg1", None),
        # di left; her account is matched and in admins in the target only
        ("membership_excess", "critical", "u4", "t4", "g1", "tg1", None),
        # nested: eng (g5) in staff at the source only; in admins on both sides
        ("membership_missing", "medium", "g5", "tg5", "g2", "tg2", None),
    }
    nested = next(r for r in rows if r.source_id == "g5")
    assert nested.user_name is None and nested.group_name == "staff"
    # not findings: u3 (missing) in staff, u5 (ambiguous) in staff, anything in g4 (ambiguous), tg9 (orphan)


def test_delta_findings_follow_the_definitions() -> None:
    watermark = datetime(2026, 1, 6, 2, 0, 0, 250_000, tzinfo=UTC)
    base = indexed("""
    a | v1 | ann | 2026-01-01T00:00:00Z
    b | v1 | bob | 2026-01-01T00:00:00Z
    c | v1 | cy  | 2026-01-01T00:00:00Z
    d | v1 | di  | 2026-01-01T00:00:00Z
    e | v1 | ed  | 2026-01-01T00:00:00Z
    f | v1 | flo | 2026-01-01T00:00:00Z
    """)
    head = indexed("""
    a | v2 | ann | 2026-01-06T10:00:00Z
    b | v2 | bob | 2026-01-06T02:00:00Z
    c | v2 | cy  | 2026-01-06T05:00:00+02:00
    e | v1 | ed  | 2026-01-06T09:00:00Z
    f | v1 | flo | 2026-01-01T00:00:00Z
    n | v1 | new | null
    m | v1 | mo  | 2026-01-06T09:00:00Z
    """)
    returned = {rid: head[rid] for rid in ("c", "e", "f", "m")}
    rows, moved, caught = delta_findings(base, head, returned, watermark, "User")
    assert {(r.kind, r.id) for r in rows} == {
        ("missed_change", "a"),  # changed, lastModified after the watermark, not returned
        ("missed_change", "b"),  # changed in the watermark's second: not after it
        ("stale_last_modified", "b"),
        ("unreported_deletion", "d"),
        ("unchanged_returned", "e"),
        ("unchanged_returned", "f"),
        ("outside_filter", "f"),
        ("missed_creation", "n"),
        ("stale_last_modified", "n"),  # no lastModified at all
    }
    # c: 05:00+02:00 is 03:00Z, after the watermark: returned and fine; m: created and returned
    assert (moved, caught) == (5, 2)
    deletion = next(r for r in rows if r.kind == "unreported_deletion")
    assert deletion.name == "di" and deletion.head_last_modified is None


def test_a_leaver_resolves_at_the_first_cycle_without_access() -> None:
    cycles = ["c0", "c1", "c2", "c3"]
    left = {"u1": (1, "ann"), "u2": (0, "bob"), "u3": (1, "cy")}
    deleted = {"u1": 2, "u3": 2}
    access = {
        "app": [
            {"u2": {"t2"}},
            {"u1": {"t1"}, "u2": {"t2"}, "u3": {"t3"}},
            {},
            {},
        ]
    }
    # u1's account stays active after the source deletes it (an active orphan) until c3;
    # u3's account is deactivated when the source deletes it (c2).
    orphans = {"app": [set(), set(), {"t1"}, set()]}
    rows = {row.source_id: row for row in leavers(cycles, left, deleted, access, orphans)}
    assert (rows["u1"].left_cycle, rows["u1"].target_resolved_cycle, rows["u1"].deleted_cycle) == (
        "c1",
        "c3",
        "c2",
    )
    assert (rows["u2"].left_cycle, rows["u2"].target_resolved_cycle, rows["u2"].deleted_cycle) == (
        "c0",
        "c2",
        None,
    )
    assert (rows["u3"].target_resolved_cycle, rows["u3"].deleted_cycle) == ("c2", "c2")
