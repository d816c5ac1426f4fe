from __future__ import annotations

from pathlib import Path

import pytest

from recon.config.toml import DEFAULT_COMPARE, DEFAULT_MATCH, load_config
from recon.errors import ConfigError, UsageError

GOOD = """
[systems.okta]
base_url = "https://idp.example.com/scim/v2"
token_env = "OKTA_SCIM_TOKEN"
page_size = 200
role = "source"

[systems.slack]
base_url = "https://slack.example.com/scim/v2"
token_file = "~/slack.token"

[reconcile.okta.slack]
match = [["id", "externalId"], ["userName", "userName"]]
scope_groups = ["slack-users"]
compare = ["userName", "title"]
privileged_groups = ["admins"]

[thresholds]
delayed_deactivation = 0
orphaned_in_target = 5
"""


def test_contract_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.system("okta").page_size == 200
    assert config.system("slack").token_file == Path("~/slack.token").expanduser()
    pair = config.pair("okta", "slack")
    assert pair.scope_groups == ("slack-users",)
    assert pair.compare == ("userName", "title")
    assert config.thresholds == {"delayed_deactivation": 0, "orphaned_in_target": 5}


def test_unconfigured_pair_gets_contract_defaults(tmp_path: Path) -> None:
    config = load_config(None)  # no recon.toml in the working folder of the test run is fine too
    pair = config.pair("a", "b")
    assert pair.match == DEFAULT_MATCH
    assert pair.compare == DEFAULT_COMPARE


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text('[systems.okta]\nbase_url = "x"\ntoken = "s3cr3t-value"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "systems.okta.token: secrets do not belong in the config file" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[systems.okta]\npage_size = 'big'\n", "systems.okta.page_size must be a whole number, not string"),
        ("[systems.okta]\nbase_urll = 'x'\n", "unknown key 'base_urll'"),
        ("[thresholds]\norphaned_in_target = -1\n", "thresholds.orphaned_in_target must be a whole number"),
        ("[reconcile.a.b]\nmatch = [['id']]\n", "reconcile.a.b.match: must be a list of"),
        ("[systems\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_bad_system_name_in_config(tmp_path: Path) -> None:
    path = tmp_path / "recon.toml"
    path.write_text('[systems."../x"]\nbase_url = "x"\n')
    with pytest.raises(UsageError):
        load_config(path)


def test_token_comes_from_environment_and_missing_variable_is_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recon.toml"
    path.write_text(GOOD)
    okta = load_config(path).system("okta")
    monkeypatch.delenv("OKTA_SCIM_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="OKTA_SCIM_TOKEN is not set"):
        okta.token()
    monkeypatch.setenv("OKTA_SCIM_TOKEN", "abc\n")
    assert okta.token() == "abc"
    with pytest.raises(ConfigError, match="system 'nope' is not in"):
        load_config(path).system("nope")
