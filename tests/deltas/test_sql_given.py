"""Given tables -> expected rows for deltas_kind_counts, deltas_candidates, deltas_classify and
deltas_path_counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from tests.tables import ordered, parse, rows, run


def test_kind_counts_count_each_kind_once_per_finding() -> None:
    findings = parse(
        """
        kind                | id
        missed_change       | u1
        outside_filter      | u2
        missed_change       | u3
        unreported_deletion | g1
        """,
        pa.schema([("kind", pa.string()), ("id", pa.string())]),
    )
    assert run("deltas_kind_counts", delta_findings=findings).fetchall() == [
        ("missed_change", 2),
        ("outside_filter", 1),
        ("unreported_deletion", 1),
    ]


_TS = pa.timestamp("us", tz="UTC")
COMPARED = pa.schema(
    [
        ("resource_type", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("base_last_modified", _TS),
        ("head_last_modified", _TS),
        ("in_base", pa.bool_()),
        ("in_head", pa.bool_()),
        ("candidate", pa.bool_()),
        ("members_changed", pa.bool_()),
        ("base_raw", pa.string()),
        ("head_raw", pa.string()),
        ("returned", pa.bool_()),
        ("in_filter", pa.bool_()),
    ]
)
COMPARED_ROWS = """
    resource_type | id      | in_base | in_head | candidate | members_changed | base_raw | head_raw | returned
    User          | texts   | true    | true    | true      | false           | {"a":1}  | {"a":2}  | false
    User          | same    | true    | true    | false     | false           | null     | null     | true
    User          | created | false   | true    | false     | false           | null     | null     | true
    Group         | members | true    | true    | true      | true            | null     | null     | true
    Group         | gone    | true    | false   | false     | false           | null     | null     | false
"""
CHANGES = pa.schema([("resource_type", pa.string()), ("id", pa.string()), ("changed_paths", pa.string())])


def test_candidates_are_the_compared_rows_marked_candidate_with_both_texts() -> None:
    compared = parse(COMPARED_ROWS, COMPARED)
    found = rows(run("deltas_candidates", compared=compared))
    assert found == ordered(
        [
            ("User", "texts", False, '{"a":1}', '{"a":2}'),
            ("Group", "members", True, None, None),
        ]
    )


def test_classify_marks_changed_only_what_the_content_comparison_named_in_both_exports() -> None:
    compared = parse(COMPARED_ROWS, COMPARED)
    changes = parse(
        """
        resource_type | id      | changed_paths
        User          | texts   | a
        Group         | members | members
        User          | created | title
        """,
        CHANGES,
    )
    found = rows(
        run("deltas_classify", compared=compared, content_changes=changes),
        "resource_type",
        "id",
        "in_base",
        "in_head",
        "changed",
        "returned",
        "in_filter",
        "changed_paths",
    )
    # a content change of a resource missing from base or head is no change (created/deleted decide it)
    assert found == ordered(
        [
            ("User", "texts", True, True, True, False, None, "a"),
            ("User", "same", True, True, False, True, None, None),
            ("User", "created", False, True, False, True, None, "title"),
            ("Group", "members", True, True, True, True, None, "members"),
            ("Group", "gone", True, False, False, False, None, None),
        ]
    )


CLASSIFIED = pa.schema(
    [
        ("resource_type", pa.string()),
        ("id", pa.string()),
        ("head_last_modified", _TS),
        ("changed", pa.bool_()),
        ("returned", pa.bool_()),
    ]
)
PATHS = pa.schema([("resource_type", pa.string()), ("id", pa.string()), ("path", pa.string())])


def test_path_counts_per_type_and_path() -> None:
    classified = parse(
        """
        resource_type | id | head_last_modified        | changed | returned
        User          | u1 | 2026-01-05T03:00:00+00:00 | true    | true
        User          | u2 | 2026-01-05T01:00:00+00:00 | true    | false
        User          | u3 | 2026-01-05T02:00:00+00:00 | true    | true
        User          | u4 | null                      | true    | false
        User          | u5 | 2026-01-05T03:00:00+00:00 | false   | true
        Group         | g1 | 2026-01-05T03:00:00+00:00 | true    | false
        """,
        CLASSIFIED,
    )
    paths = parse(
        """
        resource_type | id | path
        User          | u1 | title
        User          | u1 | emails
        User          | u2 | title
        User          | u3 | title
        User          | u4 | emails
        User          | u5 | title
        Group         | g1 | members
        """,
        PATHS,
    )
    watermark = datetime(2026, 1, 5, 2, tzinfo=UTC)
    given = {"classified": classified, "content_paths": paths}
    # changed, returned, missed, stale (head lastModified not after the watermark, or none)
    exclusive = run("deltas_path_counts", {"watermark": watermark, "inclusive": False}, **given).fetchall()
    assert exclusive == [
        ("Group", "members", 1, 0, 1, 0),
        ("User", "emails", 2, 1, 1, 1),  # u5 is not changed: its path is not counted
        ("User", "title", 3, 2, 1, 2),  # u2 before, u3 at the watermark (gt)
    ]
    inclusive = run("deltas_path_counts", {"watermark": watermark, "inclusive": True}, **given).fetchall()
    assert inclusive[2] == ("User", "title", 3, 2, 1, 1)  # ge returns u3 at the watermark
    unknown = run("deltas_path_counts", {"watermark": None, "inclusive": False}, **given).fetchall()
    assert [r[5] for r in unknown] == [0, 0, 0]
