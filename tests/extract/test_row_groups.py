"""Row groups end at a row count or at a text size, wherever the rows came from."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recon.row_groups as row_groups_module
from recon.row_groups import RowGroupFile, write_batches

SCHEMA = pa.schema([("id", pa.string()), ("size", pa.int64()), ("raw", pa.string())])
ROWS_CAP = 50
TEXT_CAP = 10_000


@pytest.fixture(autouse=True)
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_groups_module, "ROW_GROUP_ROWS", ROWS_CAP)
    monkeypatch.setattr(row_groups_module, "ROW_GROUP_TEXT_BYTES", TEXT_CAP)


def rows(count: int, seed: int = 1) -> list[dict[str, object]]:
    """Mostly small rows, some large ones (a group with many members), a few nulls."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(count):
        size = rng.choice([20, 40, 60, 3_000, 7_000]) if i % 3 else 10
        out.append({"id": f"g{i:05d}", "size": size, "raw": None if i % 17 == 0 else "x" * size})
    return out


def expected_row_groups(data: list[dict[str, object]]) -> list[int]:
    """Row-group sizes by the rule, counted row by row: close at ROWS_CAP rows or TEXT_CAP bytes of text."""
    groups: list[int] = []
    count = text = 0
    for row in data:
        count += 1
        text += len(str(row["id"])) + (len(str(row["raw"])) if row["raw"] is not None else 0)
        if count == ROWS_CAP or text >= TEXT_CAP:
            groups.append(count)
            count = text = 0
    return groups + ([count] if count else [])


def row_groups(path: Path) -> list[int]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def test_large_rows_close_a_row_group_before_the_row_count(tmp_path: Path) -> None:
    data = rows(400)
    groups = pa.Table.from_pylist(data, schema=SCHEMA)  # noqa: F841 - read by DuckDB's replacement scan
    path = tmp_path / "groups.parquet"

    batches = duckdb.sql("SELECT * FROM groups ORDER BY id").to_arrow_reader(batch_size=100)
    written = write_batches(batches, path, SCHEMA)

    assert written == 400
    sizes = row_groups(path)
    assert sizes == expected_row_groups(data)
    assert len(sizes) > 400 // ROWS_CAP  # the text cap did cut some groups short
    assert pq.read_table(path).to_pylist() == data


@pytest.mark.parametrize("batch_rows", [1, 7, 64, 400])
def test_the_bytes_do_not_depend_on_how_rows_were_batched(tmp_path: Path, batch_rows: int) -> None:
    data = rows(400, seed=2)
    reference = tmp_path / "reference.parquet"
    out = RowGroupFile(reference, SCHEMA)
    out.add(pa.RecordBatch.from_pylist(data, schema=SCHEMA))
    out.close()

    path = tmp_path / f"batched-{batch_rows}.parquet"
    out = RowGroupFile(path, SCHEMA)
    for start in range(0, len(data), batch_rows):
        out.add(pa.RecordBatch.from_pylist(data[start : start + batch_rows], schema=SCHEMA))
    assert out.close() == 400

    assert row_groups(path) == expected_row_groups(data)
    assert path.read_bytes() == reference.read_bytes()
