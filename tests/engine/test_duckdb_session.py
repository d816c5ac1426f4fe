"""DuckDB's session: several kept statements run at once, each on a cursor with one thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pyarrow as pa
import pytest

from recon.engine import Call, Session, Table
from recon.engine.duckdb import DuckDBSession
from recon.reconcile.run import random_weights

MEMBERSHIPS = pa.table(
    {
        "group_id": ["g1", "g2", "g1", "t1", "t2", "t2"],
        "member_id": ["u1", "u1", "u2", "v1", "v1", "v2"],
        "member_type": ["User", "User", None, "User", "User", "Group"],
    }
)


def prints_calls(session: DuckDBSession) -> list[Call]:
    """Both sides' membership prints of MEMBERSHIPS, the groups g1/t1 and g2/t2 matched, their
    weights kept in ``session``."""
    groups = session.bind(
        pa.table(
            {
                "rule": [1, 1],
                "source_id": ["g1", "g2"],
                "target_id": ["t1", "t2"],
                "ambiguous": [False, False],
            }
        )
    )
    weights = session.run(
        "reconcile_group_weights",
        None,
        {"group_correlation": groups, "random_weights": random_weights(2)},
        keep=True,
    )
    return [
        ("reconcile_member_prints", {"side": side}, {"memberships": MEMBERSHIPS, "group_weights": weights})
        for side in ("source", "target")
    ]


def test_statements_run_at_once_keep_the_rows_of_each_run_alone_and_the_thread_count() -> None:
    session = DuckDBSession(threads=2)
    calls = prints_calls(session)
    together = session.run_kept_at_once(calls)
    alone = [session.run(name, params, inputs, keep=True) for name, params, inputs in calls]
    assert [sorted(session.tuples(t)) for t in together] == [sorted(session.tuples(t)) for t in alone]
    assert [len(session.tuples(t)) for t in together] == [2, 1]  # u1, u2; v1 (v2 is a group)
    # the kept tables are this session's: later statements read them, release frees them
    joined = session.query(
        "SELECT count(*) FROM a JOIN b USING (n)", {}, {"a": together[0], "b": together[1]}
    )
    assert session.tuples(joined) == [(1,)]  # u1 and v1 both have two memberships
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(2,)]
    for table in together:
        session.release(table)
    session.close()


def test_a_lazy_table_cannot_run_on_another_cursor() -> None:
    session = DuckDBSession(threads=2)
    lazy = session.bind(MEMBERSHIPS)
    calls = [
        ("reconcile_member_prints", {"side": "source"}, {"memberships": MEMBERSHIPS, "group_weights": lazy})
    ] * 2
    with pytest.raises(ValueError, match=r"group_weights.*not a kept table"):
        session.run_kept_at_once(calls)
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(2,)]
    session.close()


@pytest.fixture
def four_threads_no_cursor(monkeypatch: pytest.MonkeyPatch) -> DuckDBSession:
    """A session of four threads that fails a test opening a cursor: with more threads than
    statements, one thread each would leave cores idle that each statement alone uses."""
    session = DuckDBSession(threads=4)

    def no_cursor() -> DuckDBSession:
        raise AssertionError("a cursor was opened")

    monkeypatch.setattr(session, "_cursor", no_cursor)
    return session


def test_with_more_threads_than_statements_they_run_one_after_the_other(
    four_threads_no_cursor: DuckDBSession,
) -> None:
    session = four_threads_no_cursor
    kept = session.run_kept_at_once(prints_calls(session))
    assert [len(session.tuples(t)) for t in kept] == [2, 1]  # u1, u2; v1 (v2 is a group)
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(4,)]
    session.close()


class _Kept(NamedTuple):
    rows: Table
    label: str


def test_two_series_at_once_run_on_two_cursors_of_one_thread_and_hand_back_kept_tables() -> None:
    session = DuckDBSession(threads=2)
    seen: dict[str, tuple[Session, str, object]] = {}

    def series(label: str, named: bool = False) -> Callable[[Session], Any]:
        def run(lane: Session) -> Any:
            assert isinstance(lane, DuckDBSession)
            threads = lane.con.sql("SELECT current_setting('threads')").fetchall()[0][0]
            seen[label] = (lane, str(threads), threading.current_thread())
            kept = lane.run(
                "reconcile_member_prints",
                {"side": label},
                {"memberships": MEMBERSHIPS, "group_weights": _weights(lane)},
                keep=True,
            )
            return _Kept(kept, label) if named else kept

        return run

    first, second = session.both_at_once(series("source"), series("target", named=True))
    assert seen["source"][0] is session and seen["target"][0] is not session  # a cursor of its own
    assert seen["source"][1] == seen["target"][1] == "1"  # the database on one thread meanwhile
    assert seen["source"][2] is threading.current_thread() is not seen["target"][2]
    assert isinstance(second, _Kept) and second.label == "target"  # a named tuple stays one
    # the second series' kept table is this session's now: later statements read it
    joined = session.query("SELECT count(*) FROM a JOIN b USING (n)", {}, {"a": first, "b": second.rows})
    assert session.tuples(joined) == [(1,)]  # u1 and v1 both have two memberships
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(2,)]
    session.close()


def test_a_lazy_table_of_the_second_series_cannot_come_back() -> None:
    session = DuckDBSession(threads=2)
    with pytest.raises(ValueError, match="lazy table"):
        session.both_at_once(lambda lane: None, lambda lane: lane.bind(MEMBERSHIPS))
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(2,)]
    session.close()


def test_a_failing_first_series_waits_for_the_second_and_sets_the_threads_back() -> None:
    session = DuckDBSession(threads=2)
    finished: list[str] = []

    def slow(lane: Session) -> None:
        time.sleep(0.2)
        finished.append("second")

    def failing(lane: Session) -> None:
        raise RuntimeError("first failed")

    with pytest.raises(RuntimeError, match="first failed"):
        session.both_at_once(failing, slow)
    assert finished == ["second"]
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(2,)]
    session.close()


def test_with_more_threads_than_two_the_series_run_one_after_the_other_here(
    four_threads_no_cursor: DuckDBSession,
) -> None:
    session = four_threads_no_cursor
    lanes: list[tuple[Session, object]] = []

    def series(result: int) -> Callable[[Session], int]:
        def run(lane: Session) -> int:
            lanes.append((lane, threading.current_thread()))
            return result

        return run

    first, second = session.both_at_once(series(1), series(2))
    assert (first, second) == (1, 2)
    assert lanes == [(session, threading.current_thread())] * 2
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(4,)]
    session.close()


def _weights(session: Session) -> Table:
    """The group weights of g1/t1 and g2/t2, kept in ``session``."""
    groups = session.bind(
        pa.table(
            {"rule": [1, 1], "source_id": ["g1", "g2"], "target_id": ["t1", "t2"], "ambiguous": [False] * 2}
        )
    )
    return session.run(
        "reconcile_group_weights",
        None,
        {"group_correlation": groups, "random_weights": random_weights(2)},
        keep=True,
    )
