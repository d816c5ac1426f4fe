"""Given tables -> expected rows for the probe SQL files."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from recon.schemas import GROUPS, USERS
from tests.tables import parse, run

IDS = pa.schema([("id", pa.string())])


def _ids(*ids: str) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.string())})


def test_compare_counts_missing_and_extra_and_sees_a_server_ignoring_the_filter() -> None:
    everyone = _ids("u1", "u2", "u3", "u4")
    out = run("probe_compare", expected=_ids("u1", "u2", "u2"), returned=_ids("u2", "u3"), everyone=everyone)
    assert out.fetchall() == [(2, 2, 1, 1, False)]
    ignored = run("probe_compare", expected=_ids("u1"), returned=everyone, everyone=everyone)
    assert ignored.fetchall() == [(1, 4, 0, 3, True)]
    nobody = run("probe_compare", expected=_ids(), returned=_ids(), everyone=_ids())
    assert nobody.fetchall() == [(0, 0, 0, 0, False)]


def test_group_sample_is_the_first_display_name_with_a_letter() -> None:
    groups = parse(
        """
        id | display_name
        g3 | zeta
        g1 | 1234
        g2 | 42-b
        """,
        GROUPS,
    )
    assert run("probe_group_sample", groups=groups).fetchall() == [("42-b",)]


def test_samples_prefer_an_active_user_with_a_work_email() -> None:
    users = parse(
        """
        id | user_name | active | title | emails                                                | primary_email | last_modified
        u1 | 123       | true  | null  | []                                                    | null          | 2026-01-01T00:00:00+00:00
        u2 | bob.x     | false | boss  | [{"value": "b@x.io", "type": "work", "primary": true}] | b@x.io        | 2026-01-02T00:00:00+00:00
        u3 | ann.y     | true  | ""    | [{"value": "a@x.io", "type": "Work", "primary": true}] | a@x.io        | 2026-01-03T00:00:00+00:00
        u4 | cyd.z     | true  | null  | []                                                    | null          | 2026-01-04T00:00:00+00:00
        """,  # noqa: E501
        USERS,
    )
    [row] = run("probe_samples", users=users).fetchall()
    assert row == (4, 1, datetime(2026, 1, 4, tzinfo=UTC), "ann.y", "a@x.io", "cyd.z")
