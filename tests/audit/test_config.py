"""Bad audit requests and configuration: one line on stderr, exit 2, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.cli import main

HOOK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recon.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_stage_is_one_line_exit_2(sim_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "--data-dir", str(sim_copy), "--config", str(sim_copy / "recon.toml"), "--only", "reconcile,x"
    )
    assert code == 2
    assert err.count("\n") == 1 and "--only: unknown stage 'x'" in err and "reconcile" in err
    assert out == ""
    assert not (sim_copy / "audits").exists()


def test_a_pair_naming_an_unknown_system_is_one_line_exit_2(
    sim_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "[reconcile.idp.slack]\n\n[reconcile.idp.nosuch]\n")
    code, _, err = _run(capsys, "--data-dir", str(sim_copy), "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1
    assert "[reconcile.idp.nosuch] names system 'nosuch'" in err and "known: github, idp, slack" in err
    assert not (sim_copy / "audits").exists() and not (sim_copy / ".audit.lock").exists()


@pytest.mark.parametrize(
    "table",
    [
        f'[notify]\nwebhook_url = "{HOOK}"\n',
        f'[notify]\nwebhook_url_env = "{HOOK}"\n',
    ],
    ids=["webhook_url", "url-in-webhook_url_env"],
)
def test_a_webhook_url_in_plain_text_is_refused_without_repeating_it(
    sim_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    config = _config(tmp_path, "[reconcile.idp.slack]\n\n" + table)
    code, out, err = _run(capsys, "--data-dir", str(sim_copy), "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1 and "secret" in err and "environment variable" in err
    assert "hooks.slack.com" not in err + out and "XXXX" not in err + out


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[metrics]\ntextfil = 'x.prom'\n", "[metrics]: unknown key 'textfil'"),
        ("[audit]\nincremental = ['slack']\n", "audit.incremental names 'slack', which is not a live system"),
        ("[metrics]\nformat = 'json'\n", "metrics.format must be prometheus or openmetrics"),
        ("[metrics]\npush_url = 'http://user:pw@gw:9091'\n", "without credentials"),
        ("[notify]\nwebhook_url_env = 'RECON_TEST_UNSET_HOOK'\n", "RECON_TEST_UNSET_HOOK is not set"),
    ],
)
def test_other_bad_audit_settings_are_one_line_exit_2(
    sim_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    config = _config(tmp_path, "[reconcile.idp.slack]\n\n" + table)
    code, _, err = _run(capsys, "--data-dir", str(sim_copy), "--config", str(config))
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert "pw@" not in err


def test_nothing_to_audit_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "[thresholds]\norphaned_in_target = 0\n")
    code, _, err = _run(capsys, "--data-dir", str(tmp_path / "data"), "--config", str(config))
    assert code == 2 and "nothing to audit" in err and err.count("\n") == 1


def test_the_audit_tables_parse_with_their_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recon.config.toml import AuditConfig, MetricsConfig, NotifyConfig, load_config

    empty = load_config(_config(tmp_path, "[reconcile.a.b]\n"))
    assert (empty.audit, empty.metrics, empty.notify) == (AuditConfig(), MetricsConfig(), NotifyConfig())
    assert empty.notify.webhook_url() is None
    config = load_config(
        _config(
            tmp_path,
            "[systems.okta]\nbase_url = 'https://idp.example.com/scim/v2'\n\n"
            "[audit]\ndiscover_max_age_hours = 0\nincremental = ['okta']\n\n"
            "[metrics]\ntextfile = 'out/recon.prom'\npush_url = 'http://gw:9091'\njob = 'nightly'\n"
            "format = 'openmetrics'\ntimeout = 3\n\n"
            "[notify]\nwebhook_url_env = 'RECON_HOOK'\ntimeout = 2.5\n",
        )
    )
    assert config.audit == AuditConfig(discover_max_age_hours=0.0, incremental=("okta",))
    assert config.metrics == MetricsConfig(
        Path("out/recon.prom"), "http://gw:9091", "nightly", "openmetrics", 3.0
    )
    assert config.notify == NotifyConfig("RECON_HOOK", 2.5)
    monkeypatch.setenv("RECON_HOOK", " https://hooks.example/x \n")
    assert config.notify.webhook_url() == "https://hooks.example/x"


def test_the_default_cycle_is_now_for_live_systems_else_the_latest_common_one(
    sim_copy: Path, tmp_path: Path
) -> None:
    from recon.audit import plan_audit
    from recon.config import load_config
    from recon.store import Store

    store = Store(sim_copy)
    latest = store.cycles("idp")[-1]
    files_only = load_config(sim_copy / "recon.toml")
    assert plan_audit(store, files_only).cycle == latest
    assert plan_audit(store, files_only).live == frozenset()
    live = load_config(
        _config(tmp_path, "[systems.idp]\nbase_url = 'http://127.0.0.1:9/v2'\n\n[reconcile.idp.slack]\n")
    )
    plan = plan_audit(store, live)
    assert plan.live == {"idp"} and plan.cycle > latest and plan.systems == ("idp", "slack")
    assert plan_audit(store, live, stages=("reconcile",)).cycle == latest, "nothing extracted: reuse a cycle"
    assert plan_audit(store, live, cycle="C7").cycle == "C7"
