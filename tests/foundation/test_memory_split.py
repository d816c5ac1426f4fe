"""``--memory-limit`` / ``RECON_MEMORY_LIMIT`` bound the whole process: DuckDB gets a share of it.

The benchmark-level check (peak RSS of a 10M-user reconcile under ``--memory-limit 4GB``) is
``benchmarks/reconcile_bench.py --memory-limit``; these tests check that the split is applied.
"""

from __future__ import annotations

import pytest

from recon.engine import open_session
from recon.engine.duckdb import ARROW_ALLOWANCE, OUTSIDE_POOL, connect, duckdb_share, size_bytes
from recon.errors import ConfigError

MiB = 2**20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4GB", 4_000_000_000),
        ("4 gb", 4_000_000_000),
        ("3.5GB", 3_500_000_000),
        ("4GiB", 4 * 2**30),
        ("512MB", 512_000_000),
        ("768 MiB", 768 * 2**20),
        ("1000000000B", 1_000_000_000),
        ("2048 bytes", 2048),
        ("50%", None),  # DuckDB reads it (half the RAM); recon then asks DuckDB what it read
        ("4000000000", None),
    ],
)
def test_sizes_are_read_as_duckdb_reads_them(text: str, expected: int | None) -> None:
    assert size_bytes(text) == expected


def test_duckdb_gets_the_limit_less_python_arrow_and_its_own_slack() -> None:
    limit = 4_000_000_000
    assert duckdb_share(limit, 150 * MiB) == limit - 150 * MiB - ARROW_ALLOWANCE - 400_000_000
    # a limit too small to honour: DuckDB still gets a quarter of it
    assert duckdb_share(400 * MiB, 300 * MiB) == 100 * MiB


def _duckdb_limit(con: object) -> int:
    rows = con.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchall()  # type: ignore[attr-defined]
    number, unit = rows[0][0].split()
    return int(float(number) * {"MiB": 2**20, "GiB": 2**30}[unit])


def test_the_memory_limit_bounds_the_process_not_only_duckdb() -> None:
    con = connect(memory_limit="4GB")
    duckdb_limit = _duckdb_limit(con)
    # DuckDB's buffer pool is the limit less >= 10% and the Arrow allowance (and the RSS held now)
    assert 0.24 * 4_000_000_000 <= duckdb_limit <= 4_000_000_000 * (1 - OUTSIDE_POOL) - ARROW_ALLOWANCE


def test_the_environment_limit_is_split_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_MEMORY_LIMIT", "2GiB")
    with open_session() as session:
        limit = 2 * 2**30
        assert 0.24 * limit <= session.memory_limit_bytes() <= limit * (1 - OUTSIDE_POOL) - ARROW_ALLOWANCE


def test_a_limit_that_is_not_a_size_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="RECON_MEMORY_LIMIT='lots' is not a memory size"):
        connect()


def test_a_stages_own_default_sizes_duckdb_as_it_is_when_the_user_set_no_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # recon's built-in defaults (extraction 1GB, import 768MB) were measured as DuckDB buffer
    # sizes; splitting them would shrink DuckDB below what a wide Parquet scan needs
    monkeypatch.delenv("RECON_MEMORY_LIMIT", raising=False)
    with open_session(buffer_default="768MB") as session:
        assert session.memory_limit_bytes() == pytest.approx(768_000_000, rel=0.01)


def test_a_user_limit_wins_over_a_stages_default_and_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_MEMORY_LIMIT", "2GiB")
    with open_session(buffer_default="768MB") as session:
        limit = 2 * 2**30
        assert 0.24 * limit <= session.memory_limit_bytes() <= limit * (1 - OUTSIDE_POOL) - ARROW_ALLOWANCE
        assert session.memory_limit_bytes() > 768_000_000
