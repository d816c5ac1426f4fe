"""Given/expected tables for the match-key and correlation SQL files."""

from __future__ import annotations

import pyarrow as pa

from tests.reconcile.tables import CORRELATION, GROUPS, KEYS, USERS, parse, rows, run

EMPTY = CORRELATION.empty_table()


def user_keys(
    column: str | None, case_exact: bool, users: pa.Table, json_path: str | None = None
) -> pa.Table:
    """reconcile_user_match_keys over ``users`` on both sides (the target's keys from ``id``)."""
    return run(
        "reconcile_user_match_keys",
        {
            "source_column": column,
            "source_json_path": json_path,
            "target_column": "id",
            "target_json_path": None,
            "case_exact": case_exact,
        },
        source_users=users,
        target_users=users,
    )


def keys(column: str | None, case_exact: bool, users: pa.Table, json_path: str | None = None) -> list[tuple]:
    """The source side's keys (the target side gets the same users, its keys from ``id``)."""
    out = user_keys(column, case_exact, users, json_path)
    return [row[1:] for row in rows(out, "side", "record_id", "value") if row[0] == "source"]


def test_match_keys_drop_unassigned_and_lower_case_insensitive_values() -> None:
    users = parse(
        """
        id | external_id | user_name
        u1 | E1          | Ann.Lee
        u2 | null        | ""
        u3 | ""          | BOB
        """,
        USERS,
    )
    assert keys("user_name", False, users) == [("u1", "ann.lee"), ("u3", "bob")]
    assert keys("external_id", True, users) == [("u1", "E1")]
    assert keys("id", True, users) == [("u1", "u1"), ("u2", "u2"), ("u3", "u3")]


def test_match_keys_read_a_json_path_from_raw() -> None:
    users = parse(
        """
        id | raw
        u1 | {"urn:x:ext:1.0:User":{"badge":"B-7"}}
        u2 | {"userName":"no badge"}
        """,
        USERS,
    )
    assert keys(None, True, users, json_path='$."urn:x:ext:1.0:User".badge') == [("u1", "B-7")]


def test_group_match_keys_use_display_name_case_insensitively() -> None:
    groups = parse(
        """
        id | external_id | display_name
        g1 | null        | Admins
        g2 | G2          | null
        """,
        GROUPS,
    )
    params = {
        "source_column": "display_name",
        "source_json_path": None,
        "target_column": "external_id",
        "target_json_path": None,
        "case_exact": False,
    }
    out = run("reconcile_group_match_keys", params, source_groups=groups, target_groups=groups)
    assert rows(out, "side", "record_id", "value") == [("source", "g1", "admins"), ("target", "g2", "g2")]
    assert {row[0] for row in rows(out, "active")} == {None}  # groups have no active flag


def test_match_keys_carry_each_users_active_flag() -> None:
    users = parse(
        """
        id | user_name | active
        u1 | ann       | true
        u2 | bob       | false
        u3 | cy        | null
        u4 | ""        | false
        """,
        USERS,
    )
    out = user_keys("user_name", False, users)
    got = [row[1:] for row in rows(out, "side", "record_id", "active") if row[0] == "source"]
    assert got == [("u1", True), ("u2", False), ("u3", None)]


def correlate(rule: int, correlation: pa.Table | object, source: str, target: str) -> list[tuple]:
    keys = pa.concat_tables([_side("source", source), _side("target", target)])
    out = run("reconcile_correlate_rule", {"rule": rule}, correlation=correlation, match_keys=keys)  # type: ignore[arg-type]
    return rows(out, "rule", "source_id", "target_id", "ambiguous")


def _side(side: str, text: str) -> pa.Table:
    table = parse(text, KEYS.remove(0))
    return table.add_column(0, KEYS.field("side"), pa.array([side] * table.num_rows, pa.string()))


def test_one_to_one_candidates_match() -> None:
    got = correlate(
        1,
        EMPTY,
        """
        record_id | value
        u1        | u1
        u2        | u2
        """,
        """
        record_id | value
        t1        | u1
        t9        | zz
        """,
    )
    assert got == [(1, "u1", "t1", False)]


def test_duplicate_external_ids_make_every_candidate_pair_ambiguous() -> None:
    # two target accounts claim source u1 by externalId; u2 is a clean 1:1 pair
    got = correlate(
        1,
        EMPTY,
        """
        record_id | value
        u1        | u1
        u2        | u2
        """,
        """
        record_id | value
        t1        | u1
        t2        | u1
        t3        | u2
        """,
    )
    assert got == [(1, "u1", "t1", True), (1, "u1", "t2", True), (1, "u2", "t3", False)]


def test_many_to_one_is_ambiguous_for_every_pair_touching_the_shared_record() -> None:
    # u1 and u2 both lower-case to the same userName as t1; u3 - t3 stays a match
    got = correlate(
        2,
        EMPTY,
        """
        record_id | value
        u1        | ann
        u2        | ann
        u3        | cy
        """,
        """
        record_id | value
        t1        | ann
        t3        | cy
        """,
    )
    assert got == [(2, "u1", "t1", True), (2, "u2", "t1", True), (2, "u3", "t3", False)]


def test_a_later_rule_skips_records_decided_by_an_earlier_rule() -> None:
    earlier = parse(
        """
        rule | source_id | target_id | ambiguous
        1    | u1        | t1        | false
        1    | u5        | t5        | true
        1    | u5        | t6        | true
        """,
        CORRELATION,
    )
    # rule 2 (userName): u1 and t1 are matched, u5/t5/t6 ambiguous: none of them is a candidate again
    got = correlate(
        2,
        earlier,
        """
        record_id | value
        u1        | ann
        u2        | bob
        u5        | eve
        """,
        """
        record_id | value
        t1        | bob
        t2        | bob
        t6        | eve
        t7        | ann
        """,
    )
    # this rule's rows only: the correlation is the union of every rule's rows (correlate())
    assert got == [(2, "u2", "t2", False)]


def test_each_pair_carries_both_records_active_flags() -> None:
    keys = pa.concat_tables(
        [
            _side("source", "record_id | value | active\nu1 | a | false\nu2 | b | null"),
            _side("target", "record_id | value | active\nt1 | a | true\nt2 | b | false\nt3 | b | true"),
        ]
    )
    out = run("reconcile_correlate_rule", {"rule": 1}, correlation=EMPTY, match_keys=keys)
    assert rows(out, "source_id", "target_id", "ambiguous", "source_active", "target_active") == [
        ("u1", "t1", False, False, True),
        ("u2", "t2", True, None, False),
        ("u2", "t3", True, None, True),
    ]
