"""Config that silently does nothing, or blows up: every table strictly validated, one line
each (issue 16, classes 3 and 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.config.toml import SYSTEM_KEYS, Key, check_table, load_config
from recon.errors import ConfigError

from .helpers import assert_one_line_error, recon

BASE = '[systems.app]\nbase_url = "https://scim.example.test/v2"\n'


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(text)
    load_config(path)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "[thresholds]\ndelayed_deactivaton = 0\n",
            "unknown key 'delayed_deactivaton' (did you mean 'delayed_deactivation'?)",
        ),
        (
            "[thresholds]\norphaned_in_target = -1\n",
            "thresholds.orphaned_in_target must be a whole number >= 0, not -1",
        ),
        ("[thresholds]\norphaned_in_target = true\n", "must be a whole number, not boolean"),
        ("[reconcile.a.b]\nmatchh = [['id', 'id']]\n", "reconcile.a.b: unknown key 'matchh'"),
        ("[reconcile.a]\nb = 1\n", "reconcile.a.b must be a table"),
        ("[threshold]\nmissed_change = 1\n", "unknown table or key 'threshold' (did you mean 'thresholds'?)"),
        ("[reconcile.a.b]\ncompare = ['userName', 3]\n", "reconcile.a.b.compare[1] must be a string"),
        (BASE + "timeout = -1\n", "systems.app.timeout must be a number > 0 and <= 3600, not -1"),
        (
            BASE + "page_size = -5\n",
            "systems.app.page_size must be a whole number >= 1 and <= 100000, not -5",
        ),
        (
            BASE + "concurrency = 100000\n",
            "systems.app.concurrency must be a whole number >= 1 and <= 32, not 100000",
        ),
        (
            BASE + "max_retries = 100\n",
            "systems.app.max_retries must be a whole number >= 0 and <= 20, not 100",
        ),
        (BASE + "rate_limit = 0\n", "systems.app.rate_limit must be a number > 0 and <= 100000, not 0"),
        (BASE + "timeout = nan\n", "systems.app.timeout must be a number > 0 and <= 3600, not nan"),
        (BASE + 'page_size = "200"\n', "systems.app.page_size must be a whole number, not string"),
        (BASE + "tokenenv = 'X'\n", "unknown key 'tokenenv' (did you mean 'token_env'?)"),
    ],
)
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert said in str(caught.value)


def test_max_retries_zero_is_zero(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(BASE + "max_retries = 0\nconcurrency = 32\n")
    system = load_config(path).system("app")
    assert (system.max_retries, system.concurrency) == (0, 32)


def test_non_utf8_config_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_bytes(b'[systems.app]\nbase_url = "https://\xff\xfe/v2"\n')
    outcome = recon("extract", "--system", "app", "--config", str(path), "--data-dir", str(tmp_path / "d"))
    assert_one_line_error(outcome, "not UTF-8 text (byte 34)")


def test_malformed_reconcile_table_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text("[reconcile]\na = 1\n")
    outcome = recon(
        "reconcile", "--source", "a", "--target", "b", "--config", str(path), "--data-dir", str(tmp_path)
    )
    assert_one_line_error(outcome, "reconcile.a must be a table")


def test_a_new_key_is_one_line_in_a_table() -> None:
    """Other tables reuse the same checker: adding a key is adding a Key."""
    spec = {**SYSTEM_KEYS, "tenant_id": Key((str,))}
    assert check_table({"tenant_id": "x", "timeout": 3}, spec, "systems.x") == {
        "tenant_id": "x",
        "timeout": 3,
    }
    with pytest.raises(ConfigError, match=r"systems\.x\.tenant_id must be a string, not whole number"):
        check_table({"tenant_id": 3}, spec, "systems.x")
