"""Given tables -> expected rows for history_counts and history_open_drift."""

from __future__ import annotations

import pyarrow as pa

from tests.tables import parse, run

_S = pa.string()
AGED = pa.schema(
    [("source", _S), ("target", _S), ("cycle", _S), ("cycle_index", pa.int64()), ("kind", _S),
     ("severity", _S), ("source_id", _S), ("target_id", _S), ("group_id", _S), ("target_group_id", _S),
     ("attribute", _S), ("age", pa.int64()), ("first_index", pa.int64())]
)  # fmt: skip
FINDINGS = pa.schema(
    [(name, _S) for name in ("source", "target", "cycle", "kind", "severity", "source_id", "target_id",
                             "group_id", "target_group_id", "attribute", "user_name", "group_name",
                             "source_value", "target_value", "detail")]
)  # fmt: skip
CYCLES = pa.schema([("source", _S), ("target", _S), ("cycle", _S), ("cycle_index", pa.int64())])
SPANS = pa.schema(
    [(name, _S) for name in ("source", "target", "kind", "source_id", "target_id", "group_id",
                             "target_group_id", "attribute")]
    + [("first_index", pa.int64()), ("last_index", pa.int64()), ("unbroken", pa.bool_())]
)  # fmt: skip


def test_counts_per_pair_cycle_kind_and_severity() -> None:
    # rows of findings in one clean run count as they are; the others as their occurrences (aged)
    findings = parse(
        """
        source | target | cycle | kind               | severity | source_id
        idp    | app    | c2    | missing_in_target  | high     | u1
        idp    | app    | c2    | missing_in_target  | high     | u2
        idp    | app    | c2    | orphaned_in_target | low      | u3
        idp    | app    | c2    | orphaned_in_target | critical | u3
        idp    | app    | c1    | missing_in_target  | high     | u1
        idp    | app2   | c1    | missing_in_target  | high     | u1
        """,
        FINDINGS,
    )
    cycles = parse(
        """
        source | target | cycle | cycle_index
        idp    | app    | c1    | 1
        idp    | app    | c2    | 2
        idp    | app2   | c1    | 1
        """,
        CYCLES,
    )
    spans = parse(
        """
        source | target | kind               | source_id | first_index | last_index | unbroken
        idp    | app    | missing_in_target  | u1        | 1           | 2          | true
        idp    | app    | missing_in_target  | u2        | 2           | 2          | true
        idp    | app    | orphaned_in_target | u3        | 2           | 2          | false
        idp    | app2   | missing_in_target  | u1        | 1           | 1          | true
        """,
        SPANS,
    )
    aged = parse(
        """
        source | target | cycle | cycle_index | kind               | severity | source_id | age | first_index
        idp    | app    | c2    | 2           | orphaned_in_target | critical | u3        | 1   | 2
        """,
        AGED,
    )
    out = run("history_counts", findings=findings, cycles=cycles, drift_spans=spans, aged_findings=aged)
    assert out.fetchall() == [
        ("idp", "app", "c1", 1, "missing_in_target", "high", 1),
        ("idp", "app", "c2", 2, "missing_in_target", "high", 2),
        ("idp", "app", "c2", 2, "orphaned_in_target", "critical", 1),
        ("idp", "app2", "c1", 1, "missing_in_target", "high", 1),
    ]


def test_open_drift_is_the_latest_cycle_worst_then_oldest_first_with_the_worst_copy() -> None:
    cycles = parse(
        """
        source | target | cycle | cycle_index
        idp    | app    | c1    | 1
        idp    | app    | c2    | 2
        """,
        CYCLES,
    )
    spans = parse(
        """
        source | target | kind               | source_id | target_id | attribute | first_index | last_index | unbroken
        idp    | app    | missing_in_target  | u2        | null      | null      | 1           | 2          | true
        idp    | app    | missing_in_target  | u5        | null      | null      | 1           | 1          | true
        idp    | app    | attribute_mismatch | u1        | t1        | title     | 2           | 2          | true
        idp    | app    | orphaned_in_target | null      | t9        | null      | 2           | 2          | false
        idp    | app    | missing_in_target  | u3        | null      | null      | 2           | 2          | true
        """,  # noqa: E501
        SPANS,
    )
    aged = parse(  # the identities that are not one clean run (here: two rows in c2)
        """
        source | target | cycle | cycle_index | kind               | severity | source_id | target_id | attribute | age | first_index
        idp    | app    | c2    | 2           | orphaned_in_target | critical | null      | t9        | null      | 1   | 2
        """,  # noqa: E501
        AGED,
    )
    findings = parse(
        """
        source | target | cycle | kind               | severity | source_id | target_id | attribute | user_name | detail
        idp    | app    | c1    | missing_in_target  | high     | u2        | null      | null      | ann       | old
        idp    | app    | c1    | missing_in_target  | high     | u5        | null      | null      | eve       | resolved
        idp    | app    | c2    | missing_in_target  | high     | u2        | null      | null      | ann       | now
        idp    | app    | c2    | missing_in_target  | high     | u3        | null      | null      | bob       | new
        idp    | app    | c2    | attribute_mismatch | medium   | u1        | t1        | title     | cy        | differs
        idp    | app    | c2    | orphaned_in_target | low      | null      | t9        | null      | null      | b: low copy
        idp    | app    | c2    | orphaned_in_target | critical | null      | t9        | null      | null      | a: active
        """,  # noqa: E501
        FINDINGS,
    )
    out = run(
        "history_open_drift", drift_spans=spans, aged_findings=aged, latest_findings=findings, cycles=cycles
    )
    got = out.select("cycle, kind, severity, source_id, target_id, user_name, detail, age, first_cycle")
    assert got.fetchall() == [
        ("c2", "orphaned_in_target", "critical", None, "t9", None, "a: active", 1, "c2"),
        ("c2", "missing_in_target", "high", "u2", None, "ann", "now", 2, "c1"),
        ("c2", "missing_in_target", "high", "u3", None, "bob", "new", 1, "c2"),
        ("c2", "attribute_mismatch", "medium", "u1", "t1", "cy", "differs", 1, "c2"),
    ]


def test_open_drift_findings_that_differ_only_in_their_groups_come_in_group_id_order() -> None:
    # a user missing from several groups of one name (display names need not be unique) or of no
    # name: every ordering column but the group ids ties, and the order must not depend on the
    # order of the rows on disk (history's output is compared byte for byte between runs)
    cycles = parse("source | target | cycle | cycle_index\nidp | app | c1 | 1", CYCLES)
    groups = [(f"g{n:02d}", f"tg{m}") for n in range(20) for m in (2, 1)]
    shuffled = groups[7:] + groups[:7]
    shuffled.reverse()
    identity = {"source": "idp", "target": "app", "kind": "membership_missing", "source_id": "u1"}
    span = {"first_index": 1, "last_index": 1, "unbroken": True}
    spans = pa.Table.from_pylist(
        [{**identity, **span, "group_id": g, "target_group_id": tg} for g, tg in shuffled], schema=SPANS
    )
    row = {"cycle": "c1", "severity": "medium", "user_name": "ann"}
    names = {g: None if g >= "g10" else "eng" for g, _ in groups}
    findings = pa.Table.from_pylist(
        [
            {**identity, **row, "group_id": g, "target_group_id": tg, "group_name": names[g]}
            for g, tg in shuffled
        ],
        schema=FINDINGS,
    )
    aged = pa.Table.from_pylist([], schema=AGED)
    out = run(
        "history_open_drift", drift_spans=spans, aged_findings=aged, latest_findings=findings, cycles=cycles
    )
    got = out.select("group_name, group_id, target_group_id").fetchall()
    named = sorted((g, tg) for g, tg in groups if g < "g10")
    unnamed = sorted((g, tg) for g, tg in groups if g >= "g10")
    assert got == [("eng", g, tg) for g, tg in named] + [(None, g, tg) for g, tg in unnamed]
