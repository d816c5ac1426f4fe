"""Every sql/ file has a test that runs it over given tables (its name quoted in tests/)."""

from __future__ import annotations

from pathlib import Path

from recon.engine import sql_dir

_TESTS = Path(__file__).resolve().parents[1]
# still tested only through their stage (bulk apply); shrink, never grow
_THROUGH_THEIR_STAGE = {
    "bulk_outcomes",
}


def test_every_sql_file_is_run_by_name_in_a_test() -> None:
    here = Path(__file__).resolve()
    texts = "\n".join(p.read_text(encoding="utf-8") for p in _TESTS.rglob("*.py") if p != here)
    untested = {
        p.stem for p in sql_dir().glob("*.sql") if f'"{p.stem}"' not in texts and f"'{p.stem}'" not in texts
    }
    assert untested - _THROUGH_THEIR_STAGE == set(), "add a given-tables -> expected-rows test"
    assert _THROUGH_THEIR_STAGE - untested == set(), "tested now: take it off the list"
