"""Given/expected tables for reconcile_membership_findings and the scope files."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from recon.engine.duckdb import connect
from recon.reconcile.run import random_weights
from tests.reconcile.tables import CORRELATION, GROUPS, MEMBERSHIPS, NAMES, USERS, ordered, parse, rows, run

SOURCE_USERS = """
id | user_name
s1 | ann
s2 | bob
s3 | cy
s4 | dee
s5 | eve
"""
TARGET_USERS = """
id | user_name
t1 | ann
t2 | bob
t3 | cy
t5 | eve-1
t6 | eve-2
t9 | zed
"""
SOURCE_GROUPS = """
id | display_name
g1 | Admins
g2 | eng
g3 | eng-platform
g4 | unmatched
"""
TARGET_GROUPS = """
id  | display_name
tg1 | admins
tg2 | eng
tg3 | eng-platform
tg8 | orphan
"""
USER_CORRELATION = """
rule | source_id | target_id | ambiguous
1    | s1        | t1        | false
1    | s2        | t2        | false
2    | s3        | t3        | false
2    | s5        | t5        | true
2    | s5        | t6        | true
"""
GROUP_CORRELATION = """
rule | source_id | target_id | ambiguous
2    | g1        | tg1       | false
2    | g2        | tg2       | false
2    | g3        | tg3       | false
"""


def membership_findings(
    source: str, target: str, privileged: list[str], weights: pa.Table | None = None
) -> list[tuple[Any, ...]]:
    # the statements as reconcile chains them: the groups' weights (drawn at random unless given),
    # each side's prints, the users whose prints differ, their memberships compared
    con = connect()
    memberships = {"source": parse(source, MEMBERSHIPS), "target": parse(target, MEMBERSHIPS)}
    groups = parse(GROUP_CORRELATION, CORRELATION)
    users = parse(USER_CORRELATION, CORRELATION)
    group_weights = run(
        "reconcile_group_weights",
        None,
        con,
        group_correlation=groups,
        random_weights=random_weights(groups.num_rows) if weights is None else weights,
    ).to_arrow_table()
    prints = {
        f"{side}_member_prints": run(
            "reconcile_member_prints", {"side": side}, con, memberships=table, group_weights=group_weights
        )
        for side, table in memberships.items()
    }
    differing = run("reconcile_membership_differing_users", None, con, user_correlation=users, **prints)
    out = run(
        "reconcile_membership_findings",
        None,
        con,
        source_memberships=memberships["source"],
        target_memberships=memberships["target"],
        source_users=parse(SOURCE_USERS, USERS),
        source_groups=parse(SOURCE_GROUPS, GROUPS),
        target_users=parse(TARGET_USERS, USERS),
        target_groups=parse(TARGET_GROUPS, GROUPS),
        group_correlation=groups,
        privileged_groups=pa.Table.from_pylist([{"display_name": p} for p in privileged], schema=NAMES),
        differing_users=differing,
    )
    return rows(
        out,
        "kind",
        "severity",
        "source_id",
        "target_id",
        "user_name",
        "group_id",
        "target_group_id",
        "group_name",
    )


def test_missing_and_excess_through_the_correlation() -> None:
    got = membership_findings(
        """
        group_id | member_id | member_type
        g1       | s1        | User
        g2       | s1        | User
        g2       | s2        | User
        g2       | g3        | Group
        g1       | s4        | User
        g1       | s5        | User
        g4       | s1        | User
        """,
        """
        group_id | member_id | member_type
        tg1      | t1        | User
        tg1      | t2        | User
        tg2      | t2        | User
        tg1      | t9        | User
        tg1      | t5        | User
        tg8      | t1        | User
        tg2      | tg1       | Group
        """,
        privileged=["admins"],
    )
    assert got == ordered(
        [
            # s1 in eng is not in tg2
            ("membership_missing", "medium", "s1", "t1", "ann", "g2", "tg2", "eng"),
            # nested group g3 in eng: a direct membership of a matched group, user_name null
            ("membership_missing", "medium", "g3", "tg3", None, "g2", "tg2", "eng"),
            # bob in Admins at the target only: privileged (displayName compared case-insensitively)
            ("membership_excess", "critical", "s2", "t2", "bob", "g1", "tg1", "Admins"),
            # nested group admins in eng at the target only: excess, high (eng is not privileged)
            ("membership_excess", "high", "g1", "tg1", None, "g2", "tg2", "eng"),
            # not findings: s4 unmatched, s5/t5 ambiguous, t9 orphan, g4/tg8 unmatched groups
        ]
    )


def test_member_type_missing_is_resolved_by_looking_the_id_up() -> None:
    got = membership_findings(
        """
        group_id | member_id | member_type
        g1       | s1        | null
        g2       | g3        | null
        """,
        """
        group_id | member_id | member_type
        tg1      | t1        | User
        tg2      | tg3       | null
        tg2      | t2        | null
        """,
        privileged=[],
    )
    assert got == [("membership_excess", "high", "s2", "t2", "bob", "g2", "tg2", "eng")]


def test_identical_memberships_give_nothing() -> None:
    same_source = "group_id | member_id | member_type\n g1 | s1 | User\n g2 | s2 | User\n g2 | g3 | Group"
    same_target = "group_id | member_id | member_type\n tg1 | t1 | User\n tg2 | t2 | User\n tg2 | tg3 | Group"
    assert membership_findings(same_source, same_target, privileged=["Admins"]) == []


def chosen_weights(w1: list[int], w2: list[int]) -> pa.Table:
    """Weights of the matched groups g1, g2, g3 (positions 1-3, source id order), chosen."""
    return pa.table(
        {"position": [1, 2, 3], "w1": w1, "w2": w2},
        schema=pa.schema([("position", pa.int64()), ("w1", pa.int64()), ("w2", pa.int64())]),
    )


@pytest.mark.parametrize(
    "weights",
    [
        # g2 and g3 weigh the same in w1 only, then in w2 only: ann's sets {g1, g2} and {g1, g3}
        # have the same count and one equal sum; the other sum must tell them apart
        chosen_weights([5, 7, 7], [11, 13, 17]),
        chosen_weights([5, 7, 9], [11, 13, 13]),
    ],
    ids=["w1-equal", "w2-equal"],
)
def test_a_print_differs_when_either_sum_of_weights_differs(weights: pa.Table) -> None:
    got = membership_findings(
        "group_id | member_id | member_type\n g1 | s1 | User\n g2 | s1 | User",
        "group_id | member_id | member_type\n tg1 | t1 | User\n tg3 | t1 | User",
        privileged=[],
        weights=weights,
    )
    assert got == ordered(
        [
            ("membership_missing", "medium", "s1", "t1", "ann", "g2", "tg2", "eng"),
            ("membership_excess", "high", "s1", "t1", "ann", "g3", "tg3", "eng-platform"),
        ]
    )


def test_weights_are_drawn_afresh_for_every_run() -> None:
    first, second = random_weights(1000), random_weights(1000)
    assert first["position"].to_pylist() == list(range(1, 1001))
    # 64-bit draws: any repeat among 4,000 would be a broken random source, not chance
    values = [*first["w1"].to_pylist(), *first["w2"].to_pylist(), *second["w1"].to_pylist()]
    values += second["w2"].to_pylist()
    assert len(set(values)) == 4000
    assert min(values) < -(2**62) and max(values) > 2**62  # the whole signed range is drawn from


def scope_users(memberships: str, scope: list[str]) -> list[tuple[Any, ...]]:
    groups = parse(
        """
        id | display_name
        g1 | All-Staff
        g2 | eng
        g3 | platform
        g4 | loop
        g5 | other
        """,
        GROUPS,
    )
    roots = run(
        "reconcile_scope_roots",
        None,
        scope_groups=pa.Table.from_pylist([{"display_name": s} for s in scope], schema=NAMES),
        source_groups=groups,
    ).to_arrow_table()
    out = run(
        "reconcile_scope_users",
        None,
        scope_roots=roots,
        source_memberships=parse(memberships, MEMBERSHIPS),
        source_users=parse("id\n u1\n u2\n u3\n u4\n u5", USERS),
        source_groups=groups,
    )
    return rows(out)


def test_scope_is_direct_and_transitive_membership_and_survives_cycles() -> None:
    memberships = """
    group_id | member_id | member_type
    g1       | u1        | User
    g1       | g2        | Group
    g2       | g3        | null
    g3       | u3        | null
    g3       | g4        | Group
    g4       | g3        | Group
    g4       | u4        | User
    g5       | u5        | User
    """
    assert scope_users(memberships, ["all-staff"]) == [("u1",), ("u3",), ("u4",)]
    assert scope_users(memberships, ["platform"]) == [("u3",), ("u4",)]


def test_scope_roots_report_names_that_match_no_group() -> None:
    out = run(
        "reconcile_scope_roots",
        None,
        scope_groups=pa.Table.from_pylist([{"display_name": "ENG"}, {"display_name": "nope"}], schema=NAMES),
        source_groups=parse("id | display_name\n g2 | eng", GROUPS),
    )
    assert rows(out) == [("ENG", "g2"), ("nope", None)]
