"""[engine] in recon.toml and --engine: which engine a command runs on, and bad settings refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.cli import main
from recon.config import EngineConfig, parse_config
from recon.errors import ConfigError, UsageError


def test_engine_defaults_to_duckdb() -> None:
    assert parse_config({}).engine == EngineConfig(name="duckdb")


def test_engine_table_is_read() -> None:
    config = parse_config(
        {"engine": {"name": "spark", "master": "local[4]", "conf": {"spark.sql.shuffle.partitions": 64}}}
    )
    assert config.engine == EngineConfig(
        name="spark", master="local[4]", conf={"spark.sql.shuffle.partitions": "64"}
    )
    assert (
        parse_config({"engine": {"name": "spark", "remote": "sc://h:15002"}}).engine.remote == "sc://h:15002"
    )


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ({"name": "trino"}, "use one of duckdb, spark"),
        ({"name": "spark", "master": "local[2]", "remote": "sc://h:15002"}, "not both"),
        ({"name": "spark", "remote": "http://h:15002"}, "starts with sc://"),
        ({"name": "spark", "cluster": "x"}, "unknown key 'cluster'"),
        ({"name": "spark", "conf": {"a": ["b"]}}, "engine.conf"),
    ],
)
def test_bad_engine_settings_are_refused(engine: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"engine": engine})


def test_the_command_line_overrides_the_table() -> None:
    table = EngineConfig(name="spark", master="local[4]")
    assert table.named(None) == table
    assert table.named("duckdb") == EngineConfig(name="duckdb", master="local[4]")
    with pytest.raises(UsageError, match="--engine 'sparc'"):
        table.named("sparc")


def test_an_unknown_engine_on_the_command_line_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["history", "--data-dir", str(tmp_path), "--engine", "sparc"])
    assert code == 2
    assert "--engine 'sparc'" in capsys.readouterr().err
