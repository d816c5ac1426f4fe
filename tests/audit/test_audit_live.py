"""``recon audit`` end to end over live SCIM: a scim2-server (system ``hr``) and a simulator export
served over SCIM (system ``app``), one pair ``hr -> app``. The second audit stops the scim2-server
halfway (after discovery): the other stages run, the pair is "not audited", exit 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from scim_server import ScimServer, ScimServerFactory

from audit.receiver import Receiver, receiver
from recon.audit import StageRun, plan_audit, run_audit
from recon.cli import main
from recon.config import load_config
from recon.simulate.serve import ServedExport, serve_export
from recon.store import Store

pytestmark = pytest.mark.live

C1, C2, C3 = "20261201T000000Z", "20261201T010000Z", "20261201T020000Z"
SECRET_PATH = "/services/T0AUDIT/B0AUDIT/s3cr3tw3bh00kt0k3n"


@pytest.fixture
def served_app(simulated: Path) -> Iterator[ServedExport]:
    with serve_export(Store(simulated), "slack", max_page_size=100) as served:
        yield served


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as box:
        yield box


def _config(
    tmp_path: Path, hr: ScimServer, app: ServedExport, hooks: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("RECON_TEST_HR_TOKEN", hr.token)
    monkeypatch.setenv("RECON_TEST_APP_TOKEN", app.token)
    monkeypatch.setenv("RECON_TEST_WEBHOOK", hooks.url + SECRET_PATH)
    path = tmp_path / "recon.toml"
    path.write_text(
        f"""
[systems.hr]
base_url = "{hr.base_url}"
token_env = "RECON_TEST_HR_TOKEN"
max_retries = 1
timeout = 5

[systems.app]
base_url = "{app.base_url}"
token_env = "RECON_TEST_APP_TOKEN"

[reconcile.hr.app]

[audit]
incremental = ["app"]

[thresholds]
missing_in_target = 0

[metrics]
push_url = "{hooks.url}"
job = "recon-test"

[notify]
webhook_url_env = "RECON_TEST_WEBHOOK"
timeout = 5
""",
        encoding="utf-8",
    )
    return path


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def _statuses(runs: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(run["stage"], run["subject"], run["status"]) for run in runs]


def test_audit_of_two_live_systems_and_a_server_stopped_halfway(
    tmp_path: Path,
    scim_server: ScimServerFactory,
    served_app: ServedExport,
    hooks: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hr = scim_server("rich", users=40, groups=3)
    config = _config(tmp_path, hr, served_app, hooks, monkeypatch)
    data = tmp_path / "data"
    store = Store(data)

    # 1. Both servers up: every stage runs; the pair breaches missing_in_target; push and webhook.
    code = main(["audit", "--data-dir", str(data), "--config", str(config), "--cycle", C1, "--json"])
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert code == 1, captured.err
    assert _statuses(first["stages"]) == [
        ("discover", "hr", "ok"),
        ("discover", "app", "ok"),
        ("extract", "hr", "ok"),
        ("extract", "app", "ok"),
        ("extract", "app (delta)", "skipped"),  # first audit: no earlier full export
        ("validate", "hr", "ok"),
        ("validate", "app", "ok"),
        ("reconcile", "hr -> app", "exceeded"),
        ("history", "", "ok"),
        ("report", "", "ok"),
        ("metrics", "textfile", "ok"),
        ("metrics", "pushgateway", "ok"),
        ("notify", "", "ok"),
    ]
    assert store.complete_export("hr", C1).manifest().rows["users"] == 40
    summary = json.loads((store.findings_dir("hr", "app", C1) / "summary.json").read_text(encoding="utf-8"))
    missing = summary["counts"]["by_kind"]["missing_in_target"]
    assert missing > 0
    assert first["breaches"] == [
        {
            "kind": "missing_in_target",
            "count": missing,
            "limit": 0,
            "excess": missing,
            "cycle": C1,
            "source": "hr",
            "target": "app",
            "system": None,
        }
    ]
    pushes = [r for r in hooks.requests if r.method == "PUT"]
    posts = [r for r in hooks.requests if r.method == "POST"]
    assert [r.path for r in pushes] == ["/metrics/job/recon-test"]
    pushed = _samples(pushes[0].body.decode("utf-8"))
    assert ({"source": "hr", "target": "app", "kind": "missing_in_target", "severity": "high"}, missing) in (
        pushed["recon_findings"]
    )
    assert [r.path for r in posts] == [SECRET_PATH], "one post, no retry"
    text = json.loads(posts[0].body)["text"]
    assert f"missing_in_target {missing} > limit 0 (+{missing}) for hr -> app at cycle {C1}" in text
    assert f"report: {data / 'report.html'}" in text
    record = (store.audit_dir(C1) / "audit.json").read_text(encoding="utf-8")
    for where in (captured.out, captured.err, record, store.metrics_path.read_text(encoding="utf-8")):
        assert "s3cr3t" not in where, "the webhook URL is a secret"

    # 2. The scim2-server stops once discovery is done: hr cannot be extracted, app goes on.
    def stop_after_discovery(run: StageRun) -> None:
        if run.stage == "discover" and run.subject == "app":
            hr.stop()

    settings = load_config(config)
    result = run_audit(store, settings, plan_audit(store, settings, cycle=C2), on_run=stop_after_discovery)
    second = result.to_json()
    assert result.exit_code == 1
    assert _statuses(second["stages"]) == [
        ("discover", "hr", "skipped"),  # fresh from the first audit
        ("discover", "app", "skipped"),
        ("extract", "hr", "failed"),
        ("extract", "app", "ok"),
        ("extract", "app (delta)", "ok"),
        ("validate", "hr", "not audited"),
        ("validate", "app", "ok"),
        ("reconcile", "hr -> app", "not audited"),
        ("deltas", "app", "ok"),
        ("history", "", "ok"),
        ("report", "", "ok"),
        ("metrics", "textfile", "ok"),
        ("metrics", "pushgateway", "ok"),
        ("notify", "", "skipped"),
    ]
    assert second["not_audited"] == ["hr -> app"]
    assert not store.findings_dir("hr", "app", C2).exists(), "a pair not audited has no findings"
    assert store.complete_export("app", C2, "delta").manifest().filter is not None
    metrics = _samples(store.metrics_path.read_text(encoding="utf-8"))
    assert metrics["recon_pair_audited"] == [({"source": "hr", "target": "app"}, 0.0)]
    assert ({"system": "hr", "kind": "full", "status": "failed"}, 1.0) in metrics["recon_export_status"]
    assert ({"system": "app", "kind": "delta", "status": "complete"}, 1.0) in metrics["recon_export_status"]
    assert ({"stage": "extract"}, 1.0) in metrics["recon_audit_stage_failures"]
    assert metrics["recon_audit_success"] == [({}, 0.0)]
    assert metrics["recon_audit_pairs_not_audited"] == [({}, 1.0)]
    assert len([r for r in hooks.requests if r.method == "POST"]) == 1, "no breach this time: no post"

    # 3. The same through the command line: the table says NOT AUDITED, exit 1.
    code = main(["audit", "--data-dir", str(data), "--config", str(config), "--cycle", C3])
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT AUDITED: hr -> app" in out
    assert "exit 1:" in out.splitlines()[-1]
    assert not store.audit_lock_path.exists()
