"""Given/expected table tests for the history SQL files (inputs written inline)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from recon.engine import open_session
from recon.reports.history import CYCLES_SCHEMA
from tests.tables import frame as table

FINDING_COLUMNS = (
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
)


def findings(text: str) -> pl.DataFrame:
    """Findings rows: source | target | cycle | kind | severity | source_id | target_id | attribute."""
    given = table(text)
    return given.with_columns(
        *(pl.lit(None, pl.String).alias(c) for c in FINDING_COLUMNS if c not in given.columns)
    ).with_columns(pl.col("kind").alias("detail"))


def cycles(pairs: dict[tuple[str, str], list[str]], hours: int = 24) -> pl.DataFrame:
    """The cycles frame of history(): cycle_rank numbers each source's cycles (of all its pairs)."""
    names: dict[str, set[str]] = {}
    for (source, _), ids in pairs.items():
        names.setdefault(source, set()).update(ids)
    rank = {(source, c): r for source, ids in names.items() for r, c in enumerate(sorted(ids), start=1)}
    rows = []
    for (source, target), ids in pairs.items():
        for index, cycle in enumerate(ids, start=1):
            rows.append(
                {
                    "source": source,
                    "target": target,
                    "cycle": cycle,
                    "cycle_index": index,
                    "cycle_time": None,
                    "cycle_epoch": (index - 1) * hours * 3600,
                    "cycle_rank": rank[(source, cycle)],
                }
            )
    return pl.DataFrame(rows, schema=CYCLES_SCHEMA)


def run(name: str, **relations: Any) -> pl.DataFrame:
    with open_session() as session:
        if name == "history_leavers_bits":  # as history() runs it: the leavers' findings sets from
            # history_leaver_delayed over the spans, their export sets from history_leaver_exports
            spans = {"findings": relations["findings"], "cycles": relations["cycles"]}
            spans_kept = session.run("history_drift_spans", None, spans, keep=True)
            delayed = {**spans, "drift_spans": spans_kept}
            relations["leaver_delayed"] = session.run("history_leaver_delayed", None, delayed, keep=True)
            del relations["findings"]
            exports = {"source_users": relations.pop("source_users"), "cycles": relations["cycles"]}
            relations["leaver_exports"] = session.run("history_leaver_exports", None, exports, keep=True)
        return session.polars(session.run(name, None, relations))


def test_drift_spans_and_ages_count_consecutive_cycles_and_restart_after_a_gap() -> None:
    given = findings("""
        source | target | cycle | kind               | severity | source_id | target_id | attribute
        idp    | app    | c1    | attribute_mismatch | medium   | u1        | t1        | title
        idp    | app    | c2    | attribute_mismatch | medium   | u1        | t1        | title
        idp    | app    | c3    | attribute_mismatch | medium   | u1        | t1        | title
        idp    | app    | c1    | missing_in_target  | high     | u2        | null         | null
        idp    | app    | c3    | missing_in_target  | high     | u2        | null         | null
        idp    | app    | c2    | attribute_mismatch | medium   | u1        | t1        | department
        idp    | app    | c3    | attribute_mismatch | medium   | u1        | t1        | department
        idp    | app    | c3    | orphaned_in_target | low      | null         | t9        | null
        idp    | app    | c3    | orphaned_in_target | critical | null         | t9        | null
        idp    | app2   | c3    | missing_in_target  | high     | u2        | null         | null
        idp    | app    | c1    | attribute_mismatch | medium   | u3        | t3        | title
        idp    | app    | c1    | attribute_mismatch | medium   | u3        | t3        | title
        idp    | app    | c3    | attribute_mismatch | medium   | u3        | t3        | title
    """)
    given_cycles = cycles({("idp", "app"): ["c1", "c2", "c3"], ("idp", "app2"): ["c3"]})
    with open_session() as session:
        spans = session.run(
            "history_drift_spans", None, {"findings": given, "cycles": given_cycles}, keep=True
        )
        aged = session.polars(
            session.run(
                "history_drift_age", None, {"findings": given, "cycles": given_cycles, "drift_spans": spans}
            )
        )
        span_rows = session.polars(spans)
    got_spans = sorted(
        (r["target"], r["kind"], r["source_id"], r["target_id"], r["attribute"], r["first_index"],
         r["last_index"], r["unbroken"])
        for r in span_rows.iter_rows(named=True)
    )  # fmt: skip
    assert got_spans == sorted(
        [
            ("app", "attribute_mismatch", "u1", "t1", "title", 1, 3, True),
            ("app", "attribute_mismatch", "u1", "t1", "department", 2, 3, True),
            ("app", "missing_in_target", "u2", None, None, 1, 3, False),  # c2 broke the run
            ("app", "orphaned_in_target", None, "t9", None, 3, 3, False),  # two rows in one cycle
            ("app2", "missing_in_target", "u2", None, None, 1, 1, True),  # another pair, own history
            # three rows over three cycles, yet c2 is missing: the copy in c1 does not fill it
            ("app", "attribute_mismatch", "u3", "t3", "title", 1, 3, False),
        ]
    )
    # only the identities that are not one clean run are aged row by row
    got = sorted(
        (r["target"], r["cycle"], r["kind"], r["source_id"], r["target_id"], r["attribute"], r["age"],
         r["first_index"])
        for r in aged.iter_rows(named=True)
    )  # fmt: skip
    assert got == sorted(
        [
            ("app", "c1", "missing_in_target", "u2", None, None, 1, 1),
            ("app", "c3", "missing_in_target", "u2", None, None, 1, 3),  # c2 broke the run
            ("app", "c3", "orphaned_in_target", None, "t9", None, 1, 3),  # duplicate row counted once
            ("app", "c1", "attribute_mismatch", "u3", "t3", "title", 1, 1),
            ("app", "c3", "attribute_mismatch", "u3", "t3", "title", 1, 3),
        ]
    )
    orphan = aged.filter(pl.col("target_id") == "t9")
    assert orphan["severity"].to_list() == ["critical"]  # the worst severity of duplicate rows


def test_a_run_of_more_than_63_cycles_is_aged_row_by_row() -> None:
    ids = [f"c{i:03d}" for i in range(1, 71)]
    given = pl.concat(
        [
            findings(f"""
                source | target | cycle | kind               | severity | source_id | target_id | attribute
                idp    | app    | {cycle} | attribute_mismatch | medium | u1        | t1        | title
            """)
            for cycle in ids
        ]
    )
    given_cycles = cycles({("idp", "app"): ids})
    with open_session() as session:
        spans = session.run(
            "history_drift_spans", None, {"findings": given, "cycles": given_cycles}, keep=True
        )
        assert session.polars(spans)["unbroken"].to_list() == [False]
        aged = session.polars(
            session.run(
                "history_drift_age", None, {"findings": given, "cycles": given_cycles, "drift_spans": spans}
            )
        )
    assert aged.sort("cycle_index")["age"].to_list() == list(range(1, 71))


def test_cycles_table_counts_new_persisting_and_resolved() -> None:
    # finding a: c1 and c3 (a gap: aged row by row); finding b: c1 only (one clean run, from its span)
    counts = table(
        """
        source | target | cycle | cycle_index | kind | severity | findings
        idp    | app    | c1    | 1           | a    | high     | 1
        idp    | app    | c1    | 1           | b    | low      | 1
        idp    | app    | c3    | 3           | a    | critical | 1
    """,
        {"cycle_index": pl.Int64, "findings": pl.Int64},
    )
    spans = table(
        """
        source | target | kind | source_id | first_index | last_index | unbroken
        idp    | app    | a    | u1        | 1           | 3          | false
        idp    | app    | b    | u2        | 1           | 1          | true
    """,
        {"first_index": pl.Int64, "last_index": pl.Int64, "unbroken": pl.Boolean},
    )
    aged = table(
        """
        source | target | cycle | cycle_index | kind | severity | source_id | age | first_index
        idp    | app    | c1    | 1           | a    | high     | u1        | 1   | 1
        idp    | app    | c3    | 3           | a    | critical | u1        | 1   | 3
    """,
        {"cycle_index": pl.Int64, "age": pl.Int64, "first_index": pl.Int64},
    )
    out = run(
        "history_cycles",
        counts=counts,
        drift_spans=spans,
        aged_findings=aged,
        cycles=cycles({("idp", "app"): ["c1", "c2", "c3"]}),
    )
    got = [
        (
            r["cycle"],
            r["findings"],
            r["critical"],
            r["high"],
            r["low"],
            r["new"],
            r["persisting"],
            r["resolved"],
            r["max_age"],
        )
        for r in out.iter_rows(named=True)
    ]
    assert got == [
        ("c1", 2, 0, 1, 1, 2, 0, 0, 1),
        ("c2", 0, 0, 0, 0, 0, 0, 2, 0),  # a cycle without findings still appears; both resolved
        ("c3", 1, 1, 0, 0, 1, 0, 0, 1),
    ]


def test_cycles_table_ages_clean_runs_from_their_spans() -> None:
    # three findings in one clean run each: c1-c3, c2-c3, c3 only
    spans = table(
        """
        source | target | kind | source_id | first_index | last_index | unbroken
        idp    | app    | a    | u1        | 1           | 3          | true
        idp    | app    | a    | u2        | 2           | 3          | true
        idp    | app    | a    | u3        | 3           | 3          | true
    """,
        {"first_index": pl.Int64, "last_index": pl.Int64, "unbroken": pl.Boolean},
    )
    counts = table(
        """
        source | target | cycle | cycle_index | kind | severity | findings
        idp    | app    | c1    | 1           | a    | high     | 1
        idp    | app    | c2    | 2           | a    | high     | 2
        idp    | app    | c3    | 3           | a    | high     | 3
    """,
        {"cycle_index": pl.Int64, "findings": pl.Int64},
    )
    aged = (
        counts.select("source", "target", "cycle", "cycle_index")
        .clear()
        .with_columns(pl.lit(None, pl.Int64).alias("age"))
    )
    out = run(
        "history_cycles",
        counts=counts,
        drift_spans=spans,
        aged_findings=aged,
        cycles=cycles({("idp", "app"): ["c1", "c2", "c3"]}),
    )
    got = [
        (r["cycle"], r["findings"], r["new"], r["persisting"], r["resolved"], r["max_age"])
        for r in out.iter_rows(named=True)
    ]
    assert got == [("c1", 1, 1, 0, 0, 1), ("c2", 2, 1, 1, 0, 2), ("c3", 3, 1, 2, 0, 3)]


SOURCE_USERS = """
    system | cycle | id | user_name | active
    idp    | c1    | u1 | ann       | true
    idp    | c2    | u1 | ann       | false
    idp    | c3    | u1 | ann       | false
    idp    | c4    | u1 | ann       | false
    idp    | c1    | u2 | ben       | false
    idp    | c2    | u2 | ben       | false
    idp    | c3    | u2 | ben       | false
    idp    | c4    | u2 | ben       | false
    idp    | c1    | u3 | cid       | true
    idp    | c2    | u3 | cid       | false
    idp    | c1    | u4 | dee       | true
    idp    | c2    | u4 | dee       | true
    idp    | c3    | u4 | dee       | false
    idp    | c4    | u4 | dee       | false
    idp    | c1    | u5 | eve       | true
    idp    | c2    | u5 | eve       | true
    idp    | c3    | u5 | eve       | true
    idp    | c4    | u5 | eve       | true
"""


LEAVER_STATEMENTS = ("history_leavers", "history_leavers_bits")  # the same rows (<= 61 cycles)


@pytest.mark.parametrize("statement", LEAVER_STATEMENTS)
def test_leavers_latency_follows_the_account_through_a_hard_delete(statement: str) -> None:
    # u1 left c2, target deactivated at c4 (2 cycles). u2 inactive from c1, never had access (0).
    # u3 left c2, deleted at c3; the target account t3 stays active (orphaned critical) until c4: open.
    # u4 left c3, target still active at c4: open. u5 never left. Another target account t8 orphaned
    # (not u3's) does not count for u3.
    given = findings("""
        source | target | cycle | kind                 | severity | source_id | target_id
        idp    | app    | c2    | delayed_deactivation | critical | u1        | t1
        idp    | app    | c3    | delayed_deactivation | critical | u1        | t1
        idp    | app    | c2    | delayed_deactivation | critical | u3        | t3
        idp    | app    | c3    | orphaned_in_target   | critical | null         | t3
        idp    | app    | c4    | orphaned_in_target   | critical | null         | t3
        idp    | app    | c3    | delayed_deactivation | critical | u4        | t4
        idp    | app    | c4    | delayed_deactivation | critical | u4        | t4
        idp    | app    | c4    | orphaned_in_target   | critical | null         | t8
    """)
    users = table(SOURCE_USERS, {"active": pl.Boolean})
    out = run(
        statement,
        source_users=users,
        findings=given,
        cycles=cycles({("idp", "app"): ["c1", "c2", "c3", "c4"]}, hours=6),
    )
    got = {
        r["source_id"]: (
            r["user_name"],
            r["target_id"],
            r["left_cycle"],
            r["deleted_cycle"],
            r["resolved_cycle"],
            r["latency_cycles"],
            r["latency_hours"],
            r["still_open"],
            r["open_cycles"],
        )
        for r in out.iter_rows(named=True)
    }
    assert got == {
        "u1": ("ann", "t1", "c2", None, "c4", 2, 12.0, False, 2),
        "u2": ("ben", None, "c1", None, "c1", 0, 0.0, False, 0),
        "u3": ("cid", "t3", "c2", "c3", None, None, None, True, 3),
        "u4": ("dee", "t4", "c3", None, None, None, None, True, 2),
    }


@pytest.mark.parametrize("statement", LEAVER_STATEMENTS)
def test_leaver_whose_account_turns_inactive_after_the_source_delete_is_resolved(statement: str) -> None:
    given = findings("""
        source | target | cycle | kind                 | severity | source_id | target_id
        idp    | app    | c2    | delayed_deactivation | critical | u3        | t3
        idp    | app    | c3    | orphaned_in_target   | critical | null         | t3
        idp    | app    | c4    | orphaned_in_target   | low      | null         | t3
    """)
    users = table(SOURCE_USERS, {"active": pl.Boolean}).filter(pl.col("id") == "u3")
    out = run(
        statement,
        source_users=users,
        findings=given,
        cycles=cycles({("idp", "app"): ["c1", "c2", "c3", "c4"]}),
    )
    row = out.row(0, named=True)
    assert (row["deleted_cycle"], row["resolved_cycle"], row["latency_cycles"], row["latency_hours"]) == (
        "c3",
        "c4",
        2,
        48.0,
    )


def test_leaver_exports_name_a_leaver_of_two_names_by_each_export_row() -> None:
    # u1 is inactive in c2 under two names (two rows) and in c3 under one: not one_name, so its sets
    # row comes with one row per inactive export row; u2 keeps one name over two cycles: one row
    users = table(
        """
        system | cycle | id | user_name | active
        idp    | c1    | u1 | ann       | true
        idp    | c2    | u1 | ann       | false
        idp    | c2    | u1 | anne      | false
        idp    | c3    | u1 | anne      | false
        idp    | c1    | u2 | ben       | true
        idp    | c2    | u2 | ben       | false
        idp    | c3    | u2 | ben       | false
        idp    | c3    | u3 | cid       | true
        """,
        {"active": pl.Boolean},
    )
    given_cycles = cycles({("idp", "app"): ["c1", "c2", "c3"]})
    with open_session() as session:
        out = session.polars(
            session.run("history_leaver_exports", None, {"source_users": users, "cycles": given_cycles})
        )
    got = sorted(
        (r["id"], r["name_cycle"] or "", r["left_cycle"], r["inactive_cycles"], r["exported_cycles"],
         r["user_name"], r["one_name"])
        for r in out.iter_rows(named=True)
    )  # fmt: skip
    assert got == [
        ("u1", "", "c2", 0b1100, 0b1100, "ann", False),
        ("u1", "c2", None, None, None, "ann", None),
        ("u1", "c2", None, None, None, "anne", None),
        ("u1", "c3", None, None, None, "anne", None),
        ("u2", "", "c2", 0b1100, 0b1100, "ben", True),
    ]


@pytest.mark.parametrize(
    ("latencies", "p50", "p95", "top"),
    [
        ([3], 3, 3, 3),
        ([0, 2], 0, 2, 2),
        ([4, 1, 3, 2], 2, 4, 4),  # nearest rank: ceil(0.5*4)=2nd, ceil(0.95*4)=4th
        (list(range(1, 21)), 10, 19, 20),  # ceil(0.95*20)=19th
    ],
)
def test_latency_percentiles_are_nearest_rank(latencies: list[int], p50: int, p95: int, top: int) -> None:
    leavers = pl.DataFrame(
        {
            "source": "idp",
            "target": "app",
            "latency_cycles": latencies,
            "latency_hours": [float(v * 24) for v in latencies],
            "still_open": False,
            "open_cycles": latencies,
            "open_hours": [float(v * 24) for v in latencies],
        }
    )
    open_one = pl.DataFrame(
        {
            "source": ["idp"],
            "target": ["app"],
            "latency_cycles": [None],
            "latency_hours": [None],
            "still_open": [True],
            "open_cycles": [7],
            "open_hours": [150.0],
        },
        schema=leavers.schema,
    )
    out = run(
        "history_latency",
        leavers=pl.concat([leavers, open_one]),
        cycles=cycles({("idp", "app"): ["c1"], ("idp", "quiet"): ["c1"]}),
    )
    app = out.filter(pl.col("target") == "app").row(0, named=True)
    assert (app["leavers"], app["resolved"], app["still_open"]) == (len(latencies) + 1, len(latencies), 1)
    assert (app["p50_cycles"], app["p95_cycles"], app["max_cycles"]) == (p50, p95, top)
    assert (app["p50_hours"], app["p95_hours"], app["max_hours"]) == (p50 * 24.0, p95 * 24.0, top * 24.0)
    assert (app["oldest_open_cycles"], app["oldest_open_hours"]) == (7, 150.0)
    quiet = out.filter(pl.col("target") == "quiet").row(0, named=True)
    assert (quiet["leavers"], quiet["p50_cycles"], quiet["still_open"]) == (0, None, 0)


def test_delta_misses_are_split_by_cause() -> None:
    given = table("""
        system | head | kind                | resource_type | id
        idp    | h2   | missed_change       | User          | u1
        idp    | h2   | stale_last_modified | User          | u1
        idp    | h2   | missed_change       | User          | u2
        idp    | h2   | missed_creation     | User          | u3
        idp    | h2   | stale_last_modified | User          | u3
        idp    | h2   | missed_change       | Group         | u1
        idp    | h3   | stale_last_modified | User          | u2
        idp    | h3   | unchanged_returned  | User          | u9
    """)
    out = run("history_delta_misses", delta_findings=given)
    got = sorted(tuple(r.values()) for r in out.iter_rows(named=True))
    assert got == sorted(
        [
            ("idp", "h2", "Group", "missed_change", "lastModified advanced, not returned", 1),
            ("idp", "h2", "User", "missed_change", "lastModified advanced, not returned", 1),
            ("idp", "h2", "User", "missed_change", "lastModified not advanced", 1),
            ("idp", "h2", "User", "missed_creation", "lastModified not advanced", 1),
        ]
    )


def test_delta_cycles_keep_heads_without_findings() -> None:
    summaries = table(
        """
        system | base | head | completeness
        idp    | h1   | h2   | 0.5
        idp    | h2   | h3   | 1.0
    """,
        {"completeness": pl.Float64},
    ).with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("head_time"))
    given = table("""
        system | head | kind          | resource_type | id
        idp    | h2   | missed_change | User          | u1
        idp    | h2   | outside_filter| User          | u7
    """)
    out = run("history_delta_cycles", delta_summaries=summaries, delta_findings=given)
    got = [
        (r["head"], r["completeness"], r["missed_change"], r["outside_filter"], r["missed_creation"])
        for r in out.iter_rows(named=True)
    ]
    assert got == [("h2", 0.5, 1, 1, 0), ("h3", 1.0, 0, 0, 0)]
