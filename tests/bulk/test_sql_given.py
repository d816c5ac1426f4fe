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


_OPS = pa.schema(
    [("seq", pa.int64()), ("label", pa.string()), ("op_index", pa.int32()), ("bulk_id", pa.string()),
     ("method", pa.string()), ("path", pa.string()), ("resource_type", pa.string()),
     ("resource_id", pa.string()), ("lookup_attribute", pa.string()), ("lookup_value", pa.string()),
     ("lookup_case_exact", pa.bool_()), ("version", pa.string()), ("reported", pa.string()),
     ("status", pa.int32()), ("location", pa.string()), ("response_version", pa.string()),
     ("scim_type", pa.string()), ("detail", pa.string()), ("note", pa.string())]
)  # fmt: skip
_CHECKS = pa.schema(
    [("seq", pa.int64()), ("check_no", pa.int32()), ("check_kind", pa.string()), ("attribute", pa.string()),
     ("expected", pa.string()), ("member_id", pa.string()), ("value_met", pa.bool_()),
     ("actual", pa.string())]
)  # fmt: skip
_LOCATED = pa.schema([("seq", pa.int64()), ("resource_type", pa.string()), ("effective_id", pa.string())])
_VALUE_SEQS = pa.schema([("seq", pa.int64())])
_OPS_GIVEN = """
    seq | method | resource_type | resource_id | lookup_attribute | lookup_value | lookup_case_exact | reported
    1   | PATCH  | User          | t1          | null             | null         | null              | ok
    2   | POST   | User          | null        | user_name        | BOB          | false             | ok
    3   | DELETE | User          | t9          | null             | null         | null              | error
    4   | PATCH  | Group         | tg1         | null             | null         | null              | ok
    5   | PATCH  | User          | t2          | null             | null         | null              | ok
    6   | POST   | User          | null        | user_name        | zed          | true              | not_attempted
    """  # noqa: E501


def test_located_finds_each_resource_and_reads_raw_only_where_a_value_is_checked() -> None:
    users = parse(
        """
        id | user_name | active | raw
        t1 | ann       | true   | {"id":"t1"}
        t2 | Bob       | false  | {"id":"t2"}
        """,
        USERS,
    )
    out = run(
        "bulk_located",
        bulk_ops=parse(_OPS_GIVEN, _OPS),
        bulk_value_seqs=parse("seq\n1\n2", _VALUE_SEQS),
        target_users=users,
        target_groups=TARGET_GROUPS,
    )
    assert out.select("seq, effective_id, raw").order("seq").fetchall() == [
        (1, "t1", '{"id":"t1"}'),
        (2, "t2", '{"id":"t2"}'),  # located by its userName, case-insensitively
        (3, "t9", None),
        (4, "tg1", None),  # nothing to read: no value check
        (5, "t2", None),
        (6, None, None),  # zed is not there (and case-exact)
    ]


def test_outcomes_judge_each_operation_by_what_the_export_shows() -> None:
    ops = parse(_OPS_GIVEN, _OPS)
    located = parse(
        """
        seq | resource_type | effective_id
        1   | User          | t1
        2   | User          | t2
        3   | User          | t9
        4   | Group         | tg1
        5   | User          | t2
        6   | User          | null
        """,
        _LOCATED,
    )
    # value_met / actual: what recon.content decided on the resource's raw JSON
    checks = parse(
        """
        seq | check_no | check_kind | attribute | expected | member_id | value_met | actual
        1   | 1        | exists     | null      | null     | null      | null      | null
        1   | 2        | value      | active    | false    | null      | false     | true
        2   | 1        | exists     | null      | null     | null      | null      | null
        2   | 2        | value      | user_name | bob      | null      | true      | Bob
        3   | 1        | absent     | null      | null     | null      | null      | null
        4   | 1        | exists     | null      | null     | null      | null      | null
        4   | 2        | member     | null      | null     | t1        | null      | null
        4   | 3        | not_member | null      | null     | t2        | null      | null
        6   | 1        | exists     | null      | null     | null      | null      | null
        6   | 2        | value      | user_name | zed      | null      | null      | null
        """,
        _CHECKS,
    )
    users = parse(
        """
        id | user_name | active
        t1 | ann       | true
        t2 | Bob       | false
        """,
        USERS,
    )
    memberships = parse("group_id | member_id | member_type\ntg1 | t1 | User", MEMBERSHIPS)
    out = run(
        "bulk_outcomes",
        bulk_ops=ops,
        bulk_located=located,
        bulk_expectations=checks,
        target_users=users,
        target_groups=TARGET_GROUPS,
        target_memberships=memberships,
    )
    assert out.select("seq, resource_id, outcome, visible, checks, checks_met, unmet").fetchall() == [
        (1, "t1", "reported_ok_not_applied", False, 2, 1, "active is 'true', expected 'false'"),
        (2, "t2", "applied", True, 2, 2, None),
        (3, "t9", "failed_but_applied", True, 1, 1, None),
        (4, "tg1", "applied", True, 3, 3, None),
        (5, "t2", "unverified", None, 0, 0, None),  # nothing checkable
        (6, None, "not_attempted", False, 2, 0, "not in the export"),
    ]


def test_outcomes_count_each_membership_check_once_when_checks_and_rows_repeat() -> None:
    # two operations on one group ask about the same members (one of them twice), and the
    # export lists a membership twice: each check row is one check, met or not
    ops = parse(
        """
        seq | method | resource_type | resource_id | lookup_attribute | lookup_value | lookup_case_exact | reported
        1   | PATCH  | Group         | tg1         | null             | null         | null              | ok
        2   | PATCH  | Group         | tg1         | null             | null         | null              | ok
        """,  # noqa: E501
        _OPS,
    )
    located = parse("seq | resource_type | effective_id\n1 | Group | tg1\n2 | Group | tg1", _LOCATED)
    checks = parse(
        """
        seq | check_no | check_kind | attribute | expected | member_id | value_met | actual
        1   | 1        | exists     | null      | null     | null      | null      | null
        1   | 2        | member     | null      | null     | t1        | null      | null
        1   | 3        | member     | null      | null     | t1        | null      | null
        1   | 4        | member     | null      | null     | t3        | null      | null
        2   | 1        | exists     | null      | null     | null      | null      | null
        2   | 2        | member     | null      | null     | t1        | null      | null
        2   | 3        | not_member | null      | null     | t1        | null      | null
        """,
        _CHECKS,
    )
    memberships = parse(
        "group_id | member_id | member_type\ntg1 | t1 | User\ntg1 | t1 | User\ntg2 | t3 | User", MEMBERSHIPS
    )
    out = run(
        "bulk_outcomes",
        bulk_ops=ops,
        bulk_located=located,
        bulk_expectations=checks,
        target_users=parse("id | user_name | active", USERS),
        target_groups=TARGET_GROUPS,
        target_memberships=memberships,
    )
    assert out.select("seq, outcome, checks, checks_met, unmet").fetchall() == [
        (1, "reported_ok_not_applied", 4, 3, "member t3 is not in the group"),
        (2, "reported_ok_not_applied", 3, 2, "member t1 is still in the group"),
    ]
