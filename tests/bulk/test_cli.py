"""recon bulk analyze / plan / apply on the command line: output, exit codes, no secret anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scim_server import RICH_SPC, ScimServerFactory

from recon.cli import main
from recon.reconcile import reconcile
from recon.store import Store
from tests.bulk import scenario
from tests.bulk.test_analyze import BASE, bulk_request, bulk_response, error
from tests.bulk.test_plan import build_scenario


def write(path: Path, obj: object) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


@pytest.fixture
def pair(store: Store, tmp_path: Path) -> tuple[Path, Path]:
    from tests.bulk.helpers import user, write_export

    write_export(store, "app", "c1", [user("u1", "ann@x", active=True)])
    request = bulk_request(
        [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "ann@x"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "bob@x"}},
        ]
    )
    response = bulk_response(
        [
            {"method": "POST", "bulkId": "a", "status": "201", "location": f"{BASE}/Users/u1"},
            {"method": "POST", "bulkId": "b", "status": "400", "response": error(400, "invalidValue", "bad")},
        ]
    )
    return write(tmp_path / "req.json", request), write(tmp_path / "resp.json", response)


def test_analyze_exit_1_when_something_is_not_applied(
    store: Store, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bulk", "analyze", "--request", str(pair[0]), "--response", str(pair[1]), "--system", "app"]
    assert main([*args, "--data-dir", str(store.root)]) == 1
    out = capsys.readouterr().out
    assert "2 operations, 1 not applied" in out
    assert "- failed: POST /Users bulkId=b status=400 invalidValue bad" in out
    assert main([*args, "--data-dir", str(store.root), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["outcomes"]["applied"] == 1 and summary["outcomes"]["failed"] == 1


def test_analyze_malformed_response_is_exit_2_with_one_line(
    store: Store, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    write(pair[1], "<html>bad gateway</html>")
    code = main(
        [
            "bulk",
            "analyze",
            "--request",
            str(pair[0]),
            "--response",
            str(pair[1]),
            "--system",
            "app",
            "--data-dir",
            str(store.root),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("recon: error: ") and "resp.json:1:1: not valid JSON" in err[0]


def test_plan_then_dry_run_sends_nothing(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    plan_scenario = build_scenario(store)
    data = ["--data-dir", str(plan_scenario.root)]
    assert main(["bulk", "plan", "--source", "idp", "--target", "app", *data]) == 0
    out = capsys.readouterr().out
    assert "plan idp -> app, cycle c1: 7 operations in 1 chunk" in out
    assert "left alone: 1 x ambiguous match" in out
    folder = plan_scenario.root / "plans/source=idp/target=app/cycle=c1"
    assert main(["bulk", "apply", str(folder), "--system", "app", *data]) == 0
    out = capsys.readouterr().out
    assert "dry run: would send 7 operations to app (bulk) in 1 request(s)" in out
    assert "PATCH /Users/t2 p" in out and "nothing was sent" in out
    assert not (plan_scenario.root / "bulk").exists()


@pytest.mark.slow
@pytest.mark.live
def test_apply_yes_through_the_cli_with_live_extract(
    store: Store,
    scim_server: ScimServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = scim_server(RICH_SPC)
    scenario.build(store, server)
    (store.capabilities_dir("app") / "capabilities.json").unlink()  # apply discovers it
    monkeypatch.setenv("BULK_TEST_TOKEN", server.token)
    config = write(
        tmp_path / "recon.toml",
        f'[systems.app]\nbase_url = "{server.base_url}"\ntoken_env = "BULK_TEST_TOKEN"\n\n'
        '[reconcile.idp.app]\nprivileged_groups = ["admins"]\n',
    )
    common = ["--data-dir", str(store.root), "--config", str(config)]
    reconcile(store, "idp", "app", "c1", scenario.CONFIG)
    assert main(["bulk", "plan", "--source", "idp", "--target", "app", *common]) == 0
    folder = store.root / "plans/source=idp/target=app/cycle=c1"
    capsys.readouterr()
    assert main(["bulk", "apply", str(folder), "--system", "app", "--yes", *common]) == 0
    out = capsys.readouterr().out
    assert "10 operation(s) sent in 1 request(s)" in out and "not_attempted 0" in out
    run = next((store.root / "bulk/system=app").iterdir())
    log = run / "exchanges.ndjson"
    cycle = json.loads((run / "summary.json").read_text())["export_cycle"]
    assert main(["bulk", "analyze", "--log", str(log), "--system", "app", "--cycle", cycle, *common[:2]]) == 0
    for path in store.root.rglob("*"):
        if path.is_file():
            assert server.token.encode() not in path.read_bytes(), path
