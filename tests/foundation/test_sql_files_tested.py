"""Every sql/ file has a test that runs it over given tables (its name quoted in tests/)."""

from __future__ import annotations

from pathlib import Path

from recon.engine import sql_dir

_TESTS = Path(__file__).resolve().parents[1]
# files tested only through their stage, if one must be (none now); shrink, never grow
_THROUGH_THEIR_STAGE: set[str] = set()


def test_every_sql_file_is_run_by_name_in_a_test() -> None:
    here = Path(__file__).resolve()
    texts = "\n".join(p.read_text(encoding="utf-8") for p in _TESTS.rglob("*.py") if p != here)
    untested = {p.stem for p in sql_dir().glob("*.sql") if not _run_by_name(p.stem, texts)}
    assert untested - _THROUGH_THEIR_STAGE == set(), "add a given-tables -> expected-rows test"
    assert _THROUGH_THEIR_STAGE - untested == set(), "tested now: take it off the list"


def _run_by_name(name: str, texts: str) -> bool:
    """The name quoted in a test other than as ``load_sql("name")`` (which reads the text only)."""
    quoted = texts.count(f'"{name}"') + texts.count(f"'{name}'")
    return quoted > texts.count(f'load_sql("{name}")')
