"""Given/expected tables for reconcile_user_findings and reconcile_group_findings."""

from __future__ import annotations

import pyarrow as pa

from recon.reconcile.run import USER_FINDING_PARTS
from tests.reconcile.tables import CORRELATION, GROUPS, USERS, ordered, parse, rows, run

RULES = pa.table(
    {"rule": pa.array([1, 2], pa.int32()), "description": ["id = externalId", "userName = userName"]}
)
NO_SCOPE = pa.table({"user_id": pa.array([], pa.string())})

SOURCE = """
id | user_name | active
s1 | ann       | true
s2 | bob       | false
s3 | cy        | null
s4 | dee       | true
s5 | eve       | false
s6 | fay       | true
s7 | gus       | true
s8 | hal       | true
"""
TARGET = """
id | user_name | active
t1 | ANN       | true
t2 | bob       | true
t3 | cy        | false
t4 | dee       | null
t7 | gus-a     | true
t8 | gus-b     | true
t9 | old       | true
t10| older     | false
"""
# the active flags are the accounts' (the match keys carry them into the correlation)
CORR = """
rule | source_id | target_id | ambiguous | source_active | target_active
1    | s1        | t1        | false     | true          | true
1    | s2        | t2        | false     | false         | true
2    | s3        | t3        | false     | null          | false
2    | s4        | t4        | false     | true          | null
2    | s7        | t7        | true      | true          | true
2    | s7        | t8        | true      | true          | true
"""


def part_rows(part: str, scoped: bool = False, scope: pa.Table = NO_SCOPE) -> list[tuple]:
    out = run(
        "reconcile_user_findings",
        {"scoped": scoped, "part": part},
        source_users=parse(SOURCE, USERS),
        target_users=parse(TARGET, USERS),
        user_correlation=parse(CORR, CORRELATION),
        scoped_users=scope,
        user_match_rules=RULES,
    )
    return rows(out, "kind", "severity", "source_id", "target_id", "user_name")


def findings(scoped: bool = False, scope: pa.Table = NO_SCOPE) -> list[tuple]:
    """The account findings as reconcile gathers them: every part of the statement, together."""
    return ordered([row for part in USER_FINDING_PARTS for row in part_rows(part, scoped, scope)])


def test_account_findings() -> None:
    assert findings() == ordered(
        [
            ("ambiguous_match", "high", "s7", "t7", "gus"),
            ("ambiguous_match", "high", "s7", "t8", "gus"),
            # s2 inactive at the source, still active at the target
            ("delayed_deactivation", "critical", "s2", "t2", "bob"),
            # s3 active unknown (null = not false), target inactive
            ("delayed_activation", "medium", "s3", "t3", "cy"),
            # s5 is inactive and has no account: correctly deprovisioned, no finding
            ("missing_in_target", "high", "s6", None, "fay"),
            ("missing_in_target", "high", "s8", None, "hal"),
            # target user_name on orphans; inactive orphan is low
            ("orphaned_in_target", "critical", None, "t9", "old"),
            ("orphaned_in_target", "low", None, "t10", "older"),
        ]
    )


def test_each_part_gives_its_own_kinds_only() -> None:
    kinds = {part: {row[0] for row in part_rows(part)} for part in USER_FINDING_PARTS}
    assert kinds == {
        "missing": {"missing_in_target"},
        "orphaned": {"orphaned_in_target"},
        "pairs": {"ambiguous_match", "delayed_deactivation", "delayed_activation"},
    }


def test_scope_limits_missing_in_target_only() -> None:
    scope = pa.table({"user_id": ["s6", "s1", "s2"]})
    got = findings(scoped=True, scope=scope)
    assert ("missing_in_target", "high", "s8", None, "hal") not in got
    assert ("missing_in_target", "high", "s6", None, "fay") in got
    # out-of-scope matched pairs still get activity findings; orphans do not depend on scope
    assert ("delayed_activation", "medium", "s3", "t3", "cy") in got
    assert ("orphaned_in_target", "critical", None, "t9", "old") in got


def test_every_output_has_the_contract_columns_in_order() -> None:
    out = run(
        "reconcile_user_findings",
        {"scoped": False, "part": "pairs"},
        source_users=parse(SOURCE, USERS),
        target_users=parse(TARGET, USERS),
        user_correlation=parse(CORR, CORRELATION),
        scoped_users=NO_SCOPE,
        user_match_rules=RULES,
    )
    assert out.columns == [
        "kind",
        "severity",
        "source_id",
        "target_id",
        "user_name",
        "group_id",
        "target_group_id",
        "group_name",
        "attribute",
        "source_value",
        "target_value",
        "detail",
    ]
    details = dict(((r[0], r[2], r[3]), r[11]) for r in out.fetchall())
    assert details[("delayed_deactivation", "s2", "t2")] == (
        "user bob is inactive in the source but still active in the target"
    )


def test_group_findings() -> None:
    out = run(
        "reconcile_group_findings",
        {"assignment_prefix": "app-assignment:"},
        source_groups=parse(
            """
            id                  | display_name
            g1                  | admins
            g2                  | eng
            g3                  | ops
            app-assignment:0oa1 | app-assignment
            """,
            GROUPS,
        ),
        target_groups=parse(
            """
            id  | display_name
            tg1 | Admins
            tg3 | ops
            tg4 | OPS
            tg9 | legacy
            """,
            GROUPS,
        ),
        group_correlation=parse(
            """
            rule | source_id | target_id | ambiguous
            2    | g1        | tg1       | false
            2    | g3        | tg3       | true
            2    | g3        | tg4       | true
            """,
            CORRELATION,
        ),
        group_match_rules=RULES,
    )
    assert rows(out, "kind", "severity", "source_id", "group_id", "target_group_id", "group_name") == [
        ("ambiguous_match", "high", None, "g3", "tg3", "ops"),
        ("ambiguous_match", "high", None, "g3", "tg4", "ops"),
        ("group_missing_in_target", "medium", None, "g2", None, "eng"),
        ("group_orphaned_in_target", "medium", None, None, "tg9", "legacy"),
    ]
