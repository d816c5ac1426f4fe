"""Given tables -> expected rows for the export de-duplication and crawl-count SQL files."""

from __future__ import annotations

import pyarrow as pa

from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from tests.tables import parse, run

RECEIVED_USERS = USERS.append(pa.field("_seq", pa.int64()))
RECEIVED_GROUPS = GROUPS.append(pa.field("_seq", pa.int64()))
RECEIVED_MEMBERSHIPS = MEMBERSHIPS.append(pa.field("_seq", pa.int64())).append(
    pa.field("_group_seq", pa.int64())
)

USERS_GIVEN = """
    id | user_name | active | _seq
    u2 | bob       | true   | 2
    u1 | ann       | true   | 1
    u1 | ann-again | false  | 3
    u3 | cy        | null   | 4
"""
GROUPS_GIVEN = """
    id | display_name | _seq
    g1 | first copy   | 1
    g2 | other        | 2
    g1 | second copy  | 3
    g1 | third copy   | 4
"""


def test_the_first_copy_of_a_user_wins() -> None:
    out = run("export_users_dedupe", received_users=parse(USERS_GIVEN, RECEIVED_USERS))
    assert out.select("id, user_name, active").fetchall() == [
        ("u1", "ann", True),
        ("u2", "bob", True),
        ("u3", "cy", None),
    ]
    assert out.columns == USERS.names  # _seq is not written


def test_the_first_copy_of_a_group_wins_and_only_its_memberships_count() -> None:
    groups = parse(GROUPS_GIVEN, RECEIVED_GROUPS)
    out = run("export_groups_dedupe", received_groups=groups)
    assert out.select("id, display_name").fetchall() == [("g1", "first copy"), ("g2", "other")]
    memberships = parse(
        """
        group_id | member_id | member_type | _seq | _group_seq
        g1       | u1        | User        | 1    | 1
        g1       | u1        | User        | 2    | 1
        g1       | u9        | User        | 3    | 3
        g2       | g1        | Group       | 4    | 2
        g1       | u2        | User        | 5    | 1
        """,
        RECEIVED_MEMBERSHIPS,
    )
    kept = run("export_memberships_dedupe", received_groups=groups, received_memberships=memberships)
    assert kept.fetchall() == [("g1", "u1", "User"), ("g1", "u2", "User"), ("g2", "g1", "Group")]


def test_duplicate_ids_count_the_extra_copies_per_type() -> None:
    out = run(
        "export_duplicate_ids",
        received_users=parse(USERS_GIVEN, RECEIVED_USERS),
        received_groups=parse(GROUPS_GIVEN, RECEIVED_GROUPS),
    )
    assert out.fetchall() == [("Group", "g1", 2), ("User", "u1", 1)]


def test_fetched_ids_count_resources_and_distinct_ids_per_type() -> None:
    fetched = parse(
        """
        resource | id
        Users    | u1
        Users    | u2
        Users    | u1
        Groups   | g1
        """,
        pa.schema([("resource", pa.string()), ("id", pa.string())]),
    )
    assert run("extract_fetched_ids", fetched_ids=fetched).fetchall() == [("Groups", 1, 1), ("Users", 3, 2)]
