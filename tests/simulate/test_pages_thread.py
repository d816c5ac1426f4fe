"""Users' pages are made and written on a thread one page behind the caller
(:class:`recon.simulate.output.ParquetExports`): the bytes must be those of any page size, and a
failure there must fail the export and publish nothing."""

from __future__ import annotations

import hashlib
from array import array
from pathlib import Path

import pyarrow as pa
import pytest

from recon.simulate import output, run
from recon.store import Store

Lines = tuple[bytes, "array[int]"]  # a page's texts and offsets, as output._lines makes them


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _simulate(out: Path, monkeypatch: pytest.MonkeyPatch, *, page: int | None = None) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(run, "MEMO_LIMIT", 0)  # memos off: users taken from the previous export too
        if page is not None:
            patch.setattr(output, "USERS_PAGE", page)
            patch.setattr(output, "TAKING_PAGE", page)
        run.simulate(out, users=1200, cycles=3, seed=4, profile="hostile", targets=("slack", "jira"))


def test_pages_of_any_size_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    rows = output._users_rows

    def counted(lines: Lines | None, count: int, prints: list[bytes | None] | None) -> pa.RecordBatch | None:
        sent.append(count)
        return rows(lines, count, prints)

    _simulate(tmp_path / "whole", monkeypatch)
    monkeypatch.setattr(output, "_users_rows", counted)
    _simulate(tmp_path / "paged", monkeypatch, page=37)
    # hundreds of pages, most of them in flight on the thread while the next one was gathered
    assert len(sent) > 200 and max(sent) <= 37
    assert _files(tmp_path / "paged") == _files(tmp_path / "whole")


def test_a_failure_on_the_pages_thread_fails_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    rows = output._users_rows

    def failing(lines: Lines | None, count: int, prints: list[bytes | None] | None) -> pa.RecordBatch | None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("page 3 failed")
        return rows(lines, count, prints)

    monkeypatch.setattr(output, "_users_rows", failing)
    out = tmp_path / "sim"
    with pytest.raises(RuntimeError, match="page 3 failed"):
        _simulate(out, monkeypatch, page=100)
    store = Store(out)
    assert not store.exports(), "an export was published although one of its pages failed"
    assert not any(path.is_dir() for path in store.staging_root.glob("*")), "staging left behind"
