"""An Okta export feeds validate and reconcile unchanged: same findings as the SCIM view of the IdP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from directory import Directory
from fake_okta import API_TOKEN, APP_ID, serve_okta
from idp_fixtures import directories_fixture, simulated_fixture  # noqa: F401  (fixtures)

from recon.cli import main
from recon.store import Store

Finding = tuple[str | None, ...]


def _findings(store: Store, source: str, cycle: str) -> set[Finding]:
    rows = pq.read_table(store.findings_dir(source, "slack", cycle) / "findings.parquet").to_pylist()
    keys = ("kind", "source_id", "target_id", "group_id", "target_group_id", "attribute")
    return {tuple(r[k] for k in keys) for r in rows}


def test_okta_source_reconciles_like_the_scim_idp(
    simulated: tuple[Store, list[str]],
    directories: list[Directory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, cycles = simulated
    data = tmp_path / "data"
    shutil.copytree(sim.root / "exports", data / "exports")
    cycle = cycles[0]
    monkeypatch.setenv("OKTA_API_TOKEN", API_TOKEN)
    with serve_okta(directories[0]) as okta:
        toml = tmp_path / "recon.toml"
        toml.write_text(
            f'[systems.okta]\nkind = "okta"\nbase_url = "{okta.url}"\ntoken_env = "OKTA_API_TOKEN"\n'
            f'app_id = "{APP_ID}"\n'
        )
        common = ["--config", str(toml), "--data-dir", str(data)]
        assert main(["extract", "--system", "okta", "--cycle", cycle, *common]) == 0
    assert main(["validate", "--source", "okta", "--target", "slack", "--cycle", cycle, *common]) in (0, 1)
    capsys.readouterr()
    # the provider extension is declared from what the export held: the export is clean
    assert main(["validate", "--system", "okta", "--cycle", cycle, "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0
    for source in ("idp", "okta"):
        assert main(["reconcile", "--source", source, "--target", "slack", "--cycle", cycle, *common]) in (
            0,
            1,
        )
    store = Store(data)
    okta_findings = _findings(store, "okta", cycle)
    # the app-assignment group is a scope recon's export adds, not a group provisioned to the app:
    # never a group finding
    assert not [f for f in okta_findings if f[3] == f"app-assignment:{APP_ID}"]
    # Okta groups do not nest (the fake serves user members only): the simulator's nested groups
    # show as membership_excess against the target, and nothing else differs.
    nested = {
        (m["value"], gid)
        for gid, g in directories[0].groups.items()
        for m in g.get("members") or []
        if m.get("type") == "Group"
    }
    idp_findings = _findings(store, "idp", cycle)
    about_nesting = {f for f in okta_findings | idp_findings if (f[1], f[3]) in nested}
    assert {f[0] for f in about_nesting} <= {"membership_excess", "membership_missing"}
    assert okta_findings - about_nesting == idp_findings - about_nesting
