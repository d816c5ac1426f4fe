"""Given tables -> expected rows for the SQL files behind bulk plan."""

from __future__ import annotations

import pyarrow as pa

from recon.schemas import FINDINGS, GROUPS, MEMBERSHIPS, USERS
from tests.tables import parse, rows, run

PAIRS = pa.schema([("source_id", pa.string()), ("target_id", pa.string())])
SOURCE_USERS = parse(
    """
    id | user_name | raw
    s1 | ann       | {"id":"s1"}
    s2 | bob       | {"id":"s2"}
    """,
    USERS,
)
TARGET_USERS = parse(
    """
    id | user_name | active | version
    t1 | ann       | true   | W/"u1"
    t2 | bob       | false  | W/"u2"
    """,
    USERS,
)
SOURCE_GROUPS = parse(
    """
    id | display_name | raw
    sg1 | Admins      | {"id":"sg1"}
    sg2 | New         | {"id":"sg2"}
    """,
    GROUPS,
)
TARGET_GROUPS = parse(
    """
    id  | display_name | version
    tg1 | Admins       | W/"g1"
    tg2 | Nested       | W/"g2"
    """,
    GROUPS,
)


def test_plan_findings_carry_what_each_remediation_needs() -> None:
    findings = parse(
        """
        kind                     | severity | source_id | target_id | group_id | target_group_id | attribute
        missing_in_target        | high     | s1        | null      | null     | null            | null
        delayed_deactivation     | critical | s2        | t2        | null     | null            | null
        group_missing_in_target  | medium   | null      | null      | sg2      | null            | null
        membership_missing       | medium   | s1        | t1        | sg1      | tg1             | null
        membership_excess        | high     | null      | tg2       | null     | tg1             | null
        orphaned_in_target       | critical | null      | t1        | null     | null            | null
        """,
        FINDINGS,
    )
    out = run(
        "bulk_plan_findings",
        findings=findings,
        source_users=SOURCE_USERS,
        source_groups=SOURCE_GROUPS,
        target_users=TARGET_USERS,
        target_groups=TARGET_GROUPS,
    )
    got = out.select("kind, source_raw, target_version, target_active, member_type").fetchall()
    assert got == [
        ("delayed_deactivation", '{"id":"s2"}', 'W/"u2"', False, None),
        ("group_missing_in_target", '{"id":"sg2"}', None, None, None),
        ("membership_excess", None, 'W/"g1"', None, "Group"),
        ("membership_missing", None, 'W/"g1"', None, "User"),  # a member's activity is not read
        ("missing_in_target", '{"id":"s1"}', None, None, None),
        ("orphaned_in_target", None, 'W/"u1"', True, None),
    ]


def test_new_memberships_resolve_each_side_to_a_new_or_matched_resource() -> None:
    findings = parse(
        """
        kind                    | severity | source_id | group_id
        missing_in_target       | high     | s3        | null
        group_missing_in_target | medium   | null      | sg2
        """,
        FINDINGS,
    )
    users = parse(
        """
        id
        s1
        s3
        s4
        """,
        USERS,
    )
    memberships = parse(
        """
        group_id | member_id | member_type
        sg1      | s3        | User
        sg2      | s1        | null
        sg2      | sg1       | Group
        sg2      | s4        | User
        sg1      | s1        | User
        """,
        MEMBERSHIPS,
    )
    out = run(
        "bulk_plan_new_memberships",
        findings=findings,
        source_users=users,
        source_groups=SOURCE_GROUPS,
        source_memberships=memberships,
        user_matches=parse("source_id | target_id\ns1 | t1", PAIRS),
        group_matches=parse("source_id | target_id\nsg1 | tg1", PAIRS),
        target_groups=TARGET_GROUPS,
    )
    # sg2 -> s4: s4 is neither created nor matched; sg1 -> s1: nothing new on either side
    assert rows(out) == [
        ("sg1", False, "tg1", 'W/"g1"', "s3", "User", True, None),
        ("sg2", True, None, None, "s1", "User", False, "t1"),
        ("sg2", True, None, None, "sg1", "Group", False, "tg1"),
    ]
