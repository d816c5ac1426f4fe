"""Damaged state and oversized requests: a torn resume journal, a filter of thousands of terms,
userNames with control characters sent by probe (issue 16, classes 2-4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.errors import FilterSyntaxError, InputError
from recon.extract.resume import ResumeJournal
from recon.probe.battery import _quote
from recon.scim.filter import parse
from recon.scim.pages import PageRequest
from recon.store import Store

from .helpers import assert_one_line_error, recon, user, write_ndjson


def _journal(store: Store, pages: int) -> ResumeJournal:
    journal = ResumeJournal.create(
        store, "app", "c1", "full", {"cycle": "c1", "kind": "full", "plan": {}, "resources_asked": ["Users"]}
    )
    for n in range(pages):
        journal.record("Users", PageRequest(10, start_index=1 + 10 * n), b'{"Resources": []}')
    journal.close()
    return journal


@pytest.mark.parametrize(
    "tail",
    [b'{"resource": "Users", "seq": 4, "fi', b'{"resource": "Users", "seq": 4}\n', b"\x00\xff garbage\n"],
)
def test_torn_or_damaged_journal_line_keeps_the_pages_before_it(store: Store, tail: bytes) -> None:
    journal = _journal(store, 3)
    with (journal.root / "pages.ndjson").open("ab") as index:
        index.write(tail)
    found = ResumeJournal.find(store, "app")
    assert found is not None
    assert len(list(found.pages("Users"))) == 3
    found.record("Users", PageRequest(10, start_index=31), b'{"Resources": []}')  # appending after a crash
    found.close()
    again = ResumeJournal.find(store, "app")
    assert again is not None
    pages = list(again.pages("Users"))
    assert len(pages) == (4 if not tail.endswith(b"\n") else 3)


def test_damaged_journal_state_is_one_error(store: Store) -> None:
    journal = _journal(store, 1)
    (journal.root / "state.json").write_text('{"version": 1, "cyc')
    with pytest.raises(InputError, match="the resume journal is damaged"):
        ResumeJournal.find(store, "app")


def test_filter_of_thousands_of_terms_is_refused_fast() -> None:
    text = " and ".join(f'userName eq "u{i}"' for i in range(2000))
    with pytest.raises(FilterSyntaxError, match="more than 200 terms"):
        parse(text)
    parse(" and ".join(f'userName eq "u{i}"' for i in range(200)))  # at the limit: fine


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (" or ".join(f'userName eq "u{i}"' for i in range(2000)), "more than 200 terms"),
        ("(" * 5000 + 'userName eq "x"' + ")" * 5000, "nests deeper than 48 levels"),
        ("garbage (((", "expected an operator"),
    ],
)
def test_import_refuses_a_filter_deltas_could_never_check(tmp_path: Path, text: str, said: str) -> None:
    # the filter is recorded in the delta's manifest for `recon deltas`, which parses it
    path = write_ndjson(tmp_path / "f.ndjson", [user(1)])
    outcome = recon(
        "import", str(path), "--system", "s", "--cycle", "c1", "--kind", "delta", "--filter", text,
        "--data-dir", str(tmp_path / "d"),
    )  # fmt: skip
    assert_one_line_error(outcome, said)
    assert not list((tmp_path / "d").rglob("manifest.json"))


def test_a_negative_memory_limit_is_refused_not_unlimited(tmp_path: Path) -> None:
    # DuckDB reads SET memory_limit = '-1GB' as no limit at all
    path = write_ndjson(tmp_path / "f.ndjson", [user(1)])
    outcome = recon(
        "import", str(path), "--system", "s", "--cycle", "c1", "--data-dir", str(tmp_path / "d"),
        env={"RECON_MEMORY_LIMIT": "-1GB"},
    )  # fmt: skip
    assert_one_line_error(outcome, "RECON_MEMORY_LIMIT='-1GB' is not a memory size")


@pytest.mark.parametrize("name", ["a\nb@x", "a\x1b[31mb", "a\x7fb", "a\u2028b", 'q"uote\\d'])
def test_probe_quotes_control_characters_as_escapes(name: str) -> None:
    literal = _quote(name)
    assert literal.isprintable()
    filt = parse(f"userName eq {literal}")  # recon's own parser reads it back exactly
    assert filt.root.value == name  # type: ignore[union-attr]


def test_one_line_escapes_what_could_move_the_cursor_or_reorder_text() -> None:
    from recon.safe_text import one_line

    assert one_line("a\nb\x1b[31mc\u202ed\rz\x85") == "a\\nb\\x1b[31mc\\u202ed\\rz\\x85"
    assert one_line("Zahra\u200cKarimi") == "Zahra\u200cKarimi"  # a joiner some scripts need stays
    assert one_line("x" * 50, 10) == "x" * 9 + "…"
