"""Users unchanged since their system's previous full export are taken from its Parquet file, not
rendered again: the output folder must be the one rendering every user writes, byte for byte."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recon.schemas import USERS
from recon.simulate import directory, run
from recon.simulate.memo import Doc
from recon.simulate.previous_rows import PreviousRows, merged
from recon.simulate.unchanged import Unchanged

# values JSON escapes (quote, backslash, control), one it does not, and plain ones
ODD_GIVEN = (('Ann "Q"', "ann"), ("Back\\Slash", "back"), ("Tab\there", "tab"), ("Ødegård ☃", "odegard"))
ODD_FAMILY = (('O"Neil', "oneil"), ("Line\nBreak", "linebreak"))


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _simulate(out: Path, monkeypatch: pytest.MonkeyPatch, *, take: bool, profile: str) -> dict[str, int]:
    """The simulation with memos off, users taken or not; returns how many users were taken."""
    taken = {"idp": 0, "target": 0}
    plain = Doc.unchanged.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Doc], previous: int, row: object, indexed: object = None) -> Doc:
        taken["idp" if indexed is not None else "target"] += 1
        return plain(cls, previous, row, indexed)  # type: ignore[no-any-return]

    with monkeypatch.context() as patch:
        patch.setattr(run, "MEMO_LIMIT", 0)
        patch.setattr(run, "TAKE_UNCHANGED", take)
        patch.setattr(Doc, "unchanged", classmethod(counted))
        patch.setattr(directory, "GIVEN_NAMES", directory.GIVEN_NAMES + ODD_GIVEN)
        patch.setattr(directory, "FAMILY_NAMES", directory.FAMILY_NAMES + ODD_FAMILY)
        run.simulate(out, users=1500, cycles=4, seed=7, profile=profile, targets=("slack", "github", "jira"))
    return taken


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_taking_unchanged_users_writes_the_bytes_rendering_them_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    rendered, taken = tmp_path / "rendered", tmp_path / "taken"
    assert _simulate(rendered, monkeypatch, take=False, profile=profile) == {"idp": 0, "target": 0}
    counts = _simulate(taken, monkeypatch, take=True, profile=profile)
    # most users of each cycle after the first were taken (3 later cycles, ~1,500 users a system)
    assert counts["idp"] > 3 * 1000 and counts["target"] > 3 * 3 * 1000
    files = _files(rendered)
    assert files == _files(taken)
    assert sum(name.endswith("users.parquet") for name in files) == 4 * 4 + 3  # full exports, deltas
    escaped = [
        raw
        for name in files
        if name.endswith("users.parquet")
        for raw in pq.read_table(rendered / name, columns=["raw"]).column(0).to_pylist()
        if '\\"' in raw or "\\\\" in raw or "\\t" in raw or "\\n" in raw
    ]
    assert escaped  # users with escaped values were written (and taken, in later cycles)


def test_a_record_is_taken_only_when_its_state_did_not_change_since_the_export() -> None:
    unchanged = Unchanged()
    unchanged.start(4)
    assert [unchanged.seen(key) for key in (2, 0, 3)] == [-1, -1, -1]  # no previous export yet
    unchanged.written(Path("first.parquet"))
    unchanged.hold([("a",), None, ("b",), ("c",)])  # record 1 was not in the export
    unchanged.compare([("a",), ("new",), ("B",), ("c",), ("joiner",)])
    unchanged.start(5)
    # written in id order: record 2 (changed), 0, 1 (not in the previous export), 3, 4 (new)
    assert [unchanged.seen(key) for key in (2, 0, 1, 3, 4)] == [-1, 1, -1, 2, -1]
    assert unchanged.previous == Path("first.parquet")
    unchanged.written(Path("second.parquet"))
    unchanged.hold([("a",), ("new",), ("B",), ("c",), ("joiner",)])
    unchanged.compare([("a",), ("new",), ("B",), ("c",), ("joiner",)])
    unchanged.start(5)
    assert [unchanged.seen(key) for key in (0, 1, 2, 3, 4)] == [1, 2, 0, 3, 4]


def _users(ids: list[str]) -> pa.RecordBatch:
    rows = [{"id": rid, "user_name": f'{rid}@x "q"', "raw": f'{{"id":"{rid}"}}'} for rid in ids]
    return pa.RecordBatch.from_pylist(rows, schema=USERS)


def test_previous_rows_are_taken_by_position_and_merged_in_order(tmp_path: Path) -> None:
    ids = [f"u{n:04d}" for n in range(50)]
    path = tmp_path / "users.parquet"
    pq.write_table(pa.Table.from_batches([_users(ids)]), path, row_group_size=16)
    previous = PreviousRows(path, batch_rows=7)
    first = previous.take([1, 2, 9], ["u0001", "u0002", "u0009"])
    new = _users(["u0001x", "u0005x"])
    page = merged(new, first, bytearray([1, 0, 1, 0, 1]))
    assert page.column(0).to_pylist() == ["u0001", "u0001x", "u0002", "u0005x", "u0009"]
    assert page.equals(_users(["u0001", "u0001x", "u0002", "u0005x", "u0009"]))
    later = previous.take([30, 31, 49], ["u0030", "u0031", "u0049"])
    assert merged(None, later, bytearray([1, 1, 1])).equals(_users(["u0030", "u0031", "u0049"]))


def test_a_previous_row_that_is_not_the_user_asked_for_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "users.parquet"
    pq.write_table(pa.Table.from_batches([_users(["a", "b", "c"])]), path)
    with pytest.raises(AssertionError, match="not the users asked for"):
        PreviousRows(path).take([0, 2], ["a", "b"])
    with pytest.raises(AssertionError, match="beyond"):
        PreviousRows(path).take([3], ["d"])


def test_taking_rows_holds_a_few_batches_not_the_file(tmp_path: Path) -> None:
    ids = [f"u{n:06d}" for n in range(60_000)]
    noise = random.Random(0)  # text zstd cannot shrink: the file is ~14 MB on disk too
    rows = [{"id": rid, "raw": noise.randbytes(120).hex()} for rid in ids]
    path = tmp_path / "users.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=USERS), path, row_group_size=2000, compression="zstd")
    previous, held = PreviousRows(path, batch_rows=1000), 0
    start = pa.total_allocated_bytes()
    for first in range(0, len(ids), 1500):
        positions = list(range(first, min(first + 1500, len(ids)), 2))
        parts = previous.take(positions, [ids[p] for p in positions])
        held = max(held, pa.total_allocated_bytes() - start)
        del parts
    assert held < 4 * 2**20  # a row group or two (~0.5 MB each), not the file's 14 MB
