"""DuckDB's session: several kept statements run at once, each on a cursor with one thread."""

from __future__ import annotations

import pyarrow as pa
import pytest

from recon.engine import Call
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


def test_with_more_threads_than_statements_they_run_one_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one thread each would leave cores idle that each statement alone uses: no cursor is opened
    session = DuckDBSession(threads=4)

    def no_cursor() -> DuckDBSession:
        raise AssertionError("a cursor was opened")

    monkeypatch.setattr(session, "_cursor", no_cursor)
    kept = session.run_kept_at_once(prints_calls(session))
    assert [len(session.tuples(t)) for t in kept] == [2, 1]  # u1, u2; v1 (v2 is a group)
    assert session.con.sql("SELECT current_setting('threads')").fetchall() == [(4,)]
    session.close()
