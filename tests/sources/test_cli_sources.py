"""``recon discover`` / ``recon extract`` / ``recon deltas`` on provider kinds, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from directory import Directory
from fake_graph import APP_ID as ENTRA_APP
from fake_graph import CLIENT_ID, CLIENT_SECRET, TENANT, serve_graph
from fake_okta import API_TOKEN, APP_ID, serve_okta
from idp_fixtures import directories_fixture, simulated_fixture  # noqa: F401  (fixtures)

from recon.cli import main
from recon.store import Store


def test_okta_discover_and_extract_from_recon_toml(
    directories: list[Directory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", API_TOKEN)
    with serve_okta(directories[0]) as okta:
        toml = tmp_path / "recon.toml"
        toml.write_text(
            f'[systems.okta]\nkind = "okta"\nbase_url = "{okta.url}"\ntoken_env = "OKTA_API_TOKEN"\n'
            f'app_id = "{APP_ID}"\n'
        )
        common = ["--system", "okta", "--config", str(toml), "--data-dir", str(tmp_path / "data")]
        assert main(["discover", *common]) == 0
        assert "users_readable" in capsys.readouterr().out
        assert main(["extract", *common, "--cycle", "20260101T000000Z", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["manifest"]["rows"]["users"] == len(directories[0].users)
        assert (
            main(["extract", *common, "--cycle", "20260102T000000Z", "--since", "2026-01-01T00:00:00Z"]) == 0
        )
    stored = (tmp_path / "data" / "capabilities" / "system=okta" / "capabilities.json").read_text()
    assert API_TOKEN not in stored and API_TOKEN not in json.dumps(out)


def test_entra_secret_in_the_config_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "recon.toml"
    toml.write_text(
        f'[systems.entra]\nkind = "entra"\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
    )
    assert main(["discover", "--system", "entra", "--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert "client_secret" in err and CLIENT_SECRET not in err


def test_entra_delta_round_through_the_cli(
    directories: list[Directory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ENTRA_SECRET", CLIENT_SECRET)
    with serve_graph(directories[0], tmp_path) as graph:
        toml = tmp_path / "recon.toml"
        toml.write_text(
            f'[systems.entra]\nkind = "entra"\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n'
            f'client_secret_env = "ENTRA_SECRET"\napp_id = "{ENTRA_APP}"\ngraph_url = "{graph.url}"\n'
            f'login_url = "{graph.url}"\nca_bundle = "{graph.ca_bundle}"\n'
        )
        common = ["--system", "entra", "--config", str(toml), "--data-dir", str(tmp_path / "data")]
        assert main(["discover", *common]) == 0
        assert "service_principal" in capsys.readouterr().out
        assert main(["extract", *common, "--cycle", "20260101T000000Z"]) == 0
        graph.state.publish(directories[1])
        assert main(["extract", *common, "--cycle", "20260102T000000Z", "--since", "20260101T000000Z"]) == 0
        assert main(["extract", *common, "--cycle", "20260102T000000Z"]) == 0
        capsys.readouterr()
        code = main(["deltas", *common, "--base", "20260101T000000Z", "--head", "20260102T000000Z", "--json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    summary = json.loads(out)
    text = json.dumps(summary)
    assert "deltatoken" in text and CLIENT_SECRET not in text


def test_demo_can_show_the_idp_as_okta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``recon demo --idp okta``: one more stage; the other stages print as they do without it."""
    root = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(root), "--users", "400", "--cycles", "2", "--idp", "okta"]) == 0
    out = capsys.readouterr().out
    headers = re.findall(r"^== (.+?) \(\d+\.\d s\)", out, flags=re.MULTILINE)
    assert headers == [
        "simulate",
        "validate",
        "extract",
        "extract (okta)",
        "reconcile",
        "deltas",
        "bulk plan",
        "history + report",
        "audit",
    ]
    assert "NOT AS EXPECTED" not in out
    okta_stage = out.split("== extract (okta)")[1].split("== reconcile")[0]
    users = Store(root).latest_complete("idp").manifest().rows["users"]
    assert f"{users:,} of {users:,}" in okta_stage


def test_demo_can_show_the_idp_as_entra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``recon demo --idp entra``: the IdP's last two cycles as Graph pages with a local token
    endpoint; the full export, the expected population and a Graph delta round equal the simulator's
    exports, and the demo's own truth checks still hold."""
    root = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(root), "--users", "400", "--cycles", "2", "--idp", "entra"]) == 0
    out = capsys.readouterr().out
    headers = re.findall(r"^== (.+?) \(\d+\.\d s\)", out, flags=re.MULTILINE)
    assert headers[:5] == ["simulate", "validate", "extract", "extract (entra)", "reconcile"]
    assert "NOT AS EXPECTED" not in out
    assert "findings equal the simulator's truth in 4 of 4 runs" in out
    stage = out.split("== extract (entra)")[1].split("== reconcile")[0]
    store = Store(root)
    base, head = store.cycles("idp", "full")
    users = store.export("idp", base).manifest().rows["users"]
    assert f"{users:,} of {users:,}" in stage
    # independently of the demo's check: the delta export holds exactly the users that differ
    import polars as pl

    def table(system: str, cycle: str, kind: str = "full") -> pl.DataFrame:
        return pl.read_parquet(store.export(system, cycle, kind).table("users"))

    columns = ["id", "user_name", "active", "display_name", "primary_email", "title", "department"]
    before, after = table("idp", base).select(columns), table("idp", head).select(columns)
    differ = set(after.join(before, on=columns, how="anti", nulls_equal=True)["id"])
    delta = set(table("idp-entra", head, "delta")["id"])
    assert differ and differ <= delta
    assert store.export("idp-entra", head, "delta").manifest().watermark.startswith("https://127.0.0.1:")
    assert "recon deltas: 0 findings" in stage
    summary = json.loads((store.deltas_dir("idp-entra", head) / "summary.json").read_text())
    assert summary["completeness"] == 1.0


def test_audit_discovers_and_extracts_entra_and_okta_systems_as_live(
    directories: list[Directory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``recon audit`` counts provider systems as live: it discovers them, extracts a full export
    each cycle and, for ``[audit] incremental``, a delta (Graph delta links / Okta lastUpdated)."""
    monkeypatch.setenv("ENTRA_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OKTA_API_TOKEN", API_TOKEN)
    data = tmp_path / "data"
    with serve_graph(directories[0], tmp_path) as graph, serve_okta(directories[0]) as okta:
        toml = tmp_path / "recon.toml"
        toml.write_text(
            f'[systems.entra]\nkind = "entra"\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n'
            f'client_secret_env = "ENTRA_SECRET"\napp_id = "{ENTRA_APP}"\ngraph_url = "{graph.url}"\n'
            f'login_url = "{graph.url}"\nca_bundle = "{graph.ca_bundle}"\n\n'
            f'[systems.okta]\nkind = "okta"\nbase_url = "{okta.url}"\ntoken_env = "OKTA_API_TOKEN"\n'
            f'app_id = "{APP_ID}"\n\n[audit]\nincremental = ["entra", "okta"]\n'
        )
        runs = []
        for cycle in ("20260101T000000Z", "20260102T000000Z"):
            common = ["--config", str(toml), "--data-dir", str(data), "--cycle", cycle]
            code = main(["audit", *common, "--only", "discover,extract", "--json"])
            runs.append((code, json.loads(capsys.readouterr().out)))
    first, second = runs[0][1], runs[1][1]
    assert runs[0][0] == runs[1][0] == 0
    ran = {(s["stage"], s["subject"]): s["status"] for s in first["stages"]}
    assert ran[("discover", "entra")] == ran[("discover", "okta")] == "ok"
    assert ran[("extract", "entra")] == ran[("extract", "okta")] == "ok"
    later = {(s["stage"], s["subject"]): s for s in second["stages"]}
    assert later[("extract", "entra (delta)")]["status"] == "ok"
    assert "Graph delta links of cycle 20260101T000000Z" in later[("extract", "entra (delta)")]["headline"]
    assert later[("extract", "okta (delta)")]["status"] == "ok"
    store = Store(data)
    for system in ("entra", "okta"):
        assert store.cycles(system, "full") == ["20260101T000000Z", "20260102T000000Z"]
        assert store.cycles(system, "delta") == ["20260102T000000Z"]
    assert store.export("okta", "20260101T000000Z").manifest().rows["users"] == len(directories[0].users)
    text = json.dumps(runs)
    assert API_TOKEN not in text and CLIENT_SECRET not in text
