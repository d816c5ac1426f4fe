"""Entra ID as a system, against the local Graph fake (tests/sources/fake_graph.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from directory import Directory, graph_user
from fake_graph import APP_ID, CLIENT_ID, CLIENT_SECRET, TENANT, ServedGraph, serve_graph
from idp_fixtures import directories_fixture, simulated_fixture  # noqa: F401  (fixtures)

from recon.config.toml import Config, parse_config
from recon.deltas.run import deltas
from recon.extract.crawl import ExtractRequest
from recon.sources.system import extract_system
from recon.store import Store

SECRET_ENV = "RECON_TEST_ENTRA_SECRET"


@pytest.fixture
def graph(directories: list[Directory], tmp_path: Path) -> Iterator[ServedGraph]:
    with serve_graph(directories[0], tmp_path) as served:
        yield served


def config(served: ServedGraph, **extra: Any) -> Config:
    table = {
        "kind": "entra",
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret_env": SECRET_ENV,
        "app_id": APP_ID,
        "graph_url": served.url,
        "login_url": served.url,
        "ca_bundle": str(served.ca_bundle),
        "max_retries": 8,
        **extra,
    }
    return parse_config({"systems": {"entra": table}})


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)


def extract(store: Store, cfg: Config, cycle: str, since: str | None = None, page_size: int | None = None):  # type: ignore[no-untyped-def]
    return extract_system(
        store, cfg, ExtractRequest(system="entra", cycle=cycle, since=since, page_size=page_size)
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def expected_user_row(user: dict[str, Any]) -> dict[str, Any]:
    """What the documented default mapping makes of a Graph user (written from the fake's side)."""
    g = graph_user(user)
    return {
        "id": g["id"],
        "user_name": g["userPrincipalName"],
        "active": g["accountEnabled"],
        "display_name": g["displayName"],
        "given_name": g["givenName"],
        "family_name": g["surname"],
        "primary_email": g["mail"],
        "title": g["jobTitle"],
        "department": g["department"],
        "employee_number": g["employeeId"],
        "manager_id": g["_manager"],
        "external_id": g["mailNickname"],
    }


def test_full_export_equals_the_served_directory(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    result = extract(store, config(graph), "20260101T000000Z", page_size=70)
    assert result.manifest.status == "complete", result.manifest.anomalies
    directory = directories[0]
    users = _rows(result.export_path / "users.parquet")
    keys = list(expected_user_row(next(iter(directory.users.values()))))
    got = {row["id"]: {k: row[k] for k in keys} for row in users}
    assert got == {uid: expected_user_row(u) for uid, u in directory.users.items()}
    groups = {row["id"]: row["display_name"] for row in _rows(result.export_path / "groups.parquet")}
    assignment = f"app-assignment:{APP_ID}"
    assert groups.pop(assignment) == "app-assignment"
    assert groups == {gid: g["displayName"] for gid, g in directory.groups.items()}
    memberships = {
        (m["group_id"], m["member_id"], m["member_type"])
        for m in _rows(result.export_path / "memberships.parquet")
    }
    served = {
        (gid, m["value"], m.get("type", "User")) for gid in directory.groups for m in directory.members(gid)
    }
    assert {m for m in memberships if m[0] != assignment} == served
    # raw is a SCIM 2.0 User; unmapped Graph properties are kept in the provider extension
    raw = json.loads(users[0]["raw"])
    assert raw["schemas"][0] == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert "urn:recon:params:scim:schemas:extension:entra:2.0:User" in raw
    # paging: 300 users by 70 is 5 pages
    assert result.manifest.rows["users"] == len(directory.users)
    assert result.manifest.origin["delta_links"]["users"].startswith(graph.url)


def test_expected_population_equals_the_assignments(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    result = extract(store, config(graph), "20260101T000000Z")
    assignment = f"app-assignment:{APP_ID}"
    members = {
        m["member_id"]
        for m in _rows(result.export_path / "memberships.parquet")
        if m["group_id"] == assignment
    }
    expected = directories[0].expected_population()
    assert members == expected
    assert len(expected) > 20  # direct assignees plus members of the assigned groups


def test_a_delta_round_finds_what_the_simulator_changed(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    cfg = config(graph)
    base, head = "20260101T000000Z", "20260102T000000Z"
    extract(store, cfg, base)
    # the simulator's next cycle, and two users deleted outright (Graph reports them @removed)
    grouped = {m["value"] for g in directories[1].groups.values() for m in g.get("members") or []}
    gone = [u for u in sorted(directories[0].users) if u not in grouped and u in directories[1].users][:2]
    after = Directory(
        {uid: u for uid, u in directories[1].users.items() if uid not in gone},
        directories[1].groups,
        [u for u in directories[1].assigned_users if u not in gone],
        directories[1].assigned_groups,
    )
    graph.state.publish(after)
    dropped = sorted(set(directories[0].users) & set(after.users))
    changed = [
        uid
        for uid in dropped
        if expected_user_row(directories[0].users[uid]) != expected_user_row(after.users[uid])
    ]
    assert changed, "the simulator changed no user between the cycles"
    graph.state.drop_from_delta = set(changed[:3])
    delta = extract(store, cfg, head, since=base)
    assert delta.manifest.kind == "delta" and delta.manifest.status == "complete"
    assert delta.manifest.watermark is not None and "/users/delta" in delta.manifest.watermark
    extract(store, cfg, head)
    summary = deltas(store, "entra", base, head)
    findings = _rows(store.deltas_dir("entra", head) / "delta_findings.parquet")
    # the truth: exactly the planted omissions; creations and @removed deletions are not findings
    assert {(row["kind"], row["resource_type"], row["id"]) for row in findings} == {
        ("missed_change", "User", uid) for uid in changed[:3]
    }
    created = set(after.users) - set(directories[0].users)
    deleted = set(directories[0].users) - set(after.users)
    assert created and deleted == set(gone) and len(gone) == 2
    returned = {row["id"] for row in _rows(delta.export_path / "users.parquet")}
    assert returned == (set(changed) - set(changed[:3])) | created | deleted
    assert summary.watermark is not None and "deltatoken" in summary.watermark


def test_a_429_storm_ends_complete(graph: ServedGraph, directories: list[Directory], store: Store) -> None:
    graph.state.throttle = set(range(2, 9))
    result = extract(store, config(graph), "20260101T000000Z", page_size=100)
    assert result.manifest.status == "complete"
    assert result.manifest.origin["client"]["throttled"] == 7
    assert result.manifest.rows["users"] == len(directories[0].users)


def test_a_token_that_expires_mid_crawl_is_renewed(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    graph.state.token_uses = 4
    result = extract(store, config(graph), "20260101T000000Z", page_size=50)
    assert result.manifest.status == "complete"
    assert result.manifest.origin["client"]["token_renewals"] >= 2
    assert graph.state.expired == result.manifest.origin["client"]["token_renewals"]
    assert result.manifest.rows["users"] == len(directories[0].users)


def test_a_token_that_cannot_be_renewed_ends_partial_with_the_reason(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    graph.state.token_uses = 11  # past the delta links, counts and assignments (9 requests), into the users
    graph.state.refuse_tokens_after = 1
    result = extract(store, config(graph), "20260101T000000Z", page_size=50)
    assert result.manifest.status == "partial"
    stopped = [a for a in result.manifest.anomalies if a["kind"] == "crawl_stopped"]
    assert stopped and "invalid_client" in stopped[0]["detail"]
    text = (result.export_path / "manifest.json").read_text()
    assert CLIENT_SECRET not in text


def test_certificate_credential_signs_in(
    graph: ServedGraph, directories: list[Directory], store: Store, tmp_path: Path
) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recon")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "recon.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    graph.state.certificate = cert
    cfg = config(graph)
    table = {**vars(cfg.system("entra").source)}
    assert table["client_secret_env"] == SECRET_ENV
    cfg = parse_config(
        {
            "systems": {
                "entra": {
                    "kind": "entra",
                    "tenant_id": TENANT,
                    "client_id": CLIENT_ID,
                    "client_certificate_file": str(pem),
                    "graph_url": graph.url,
                    "login_url": graph.url,
                    "ca_bundle": str(graph.ca_bundle),
                }
            }
        }
    )
    result = extract(store, cfg, "20260101T000000Z")
    assert result.manifest.status == "complete"
    assert result.manifest.rows["users"] == len(directories[0].users)
    assert "PRIVATE KEY" not in (result.export_path / "manifest.json").read_text()


def test_a_graph_filter_export_is_a_delta_with_the_provider_filter(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    result = extract_system(
        store,
        config(graph),
        ExtractRequest(system="entra", cycle="20260101T000000Z", filter_expr="accountEnabled eq false"),
    )
    assert result.manifest.kind == "delta" and result.manifest.status == "complete"
    assert result.manifest.filter is None  # a Graph $filter is not a SCIM filter
    assert result.manifest.origin["provider_filter"] == "accountEnabled eq false"
    users = {row["id"] for row in _rows(result.export_path / "users.parquet")}
    assert users == {uid for uid, u in directories[0].users.items() if u.get("active") is False}
    assert users


def test_an_unsupported_graph_filter_fails_before_anything_is_written(
    graph: ServedGraph, store: Store
) -> None:
    from recon.errors import ScimError

    with pytest.raises(ScimError, match=r"HTTP 400 \(Request_UnsupportedQuery: Unsupported query"):
        extract_system(
            store,
            config(graph),
            ExtractRequest(system="entra", cycle="20260101T000000Z", filter_expr="city eq 'x'"),
        )
    assert not store.export("entra", "20260101T000000Z", "delta").path.exists()


def test_a_token_refused_again_after_one_renewal_ends_partial_with_the_reason(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    """An expired token is renewed once; when Graph refuses the renewed token too (consent
    withdrawn mid-crawl), recon does not keep asking: the export is partial with the reason."""
    graph.state.reject_tokens_after = 12  # past the assignments and the first user pages
    result = extract(store, config(graph), "20260101T000000Z", page_size=50)
    assert result.manifest.status == "partial"
    assert result.manifest.origin["client"]["token_renewals"] == 1
    assert graph.state.tokens_issued == 2
    assert graph.state.expired == 2  # the expired token's 401, then the renewed token's
    stopped = [a for a in result.manifest.anomalies if a["kind"] == "crawl_stopped"]
    assert len(stopped) == 1 and stopped[0]["affects_completeness"]
    assert "HTTP 401" in stopped[0]["detail"] and "refused again with a renewed token" in stopped[0]["detail"]
    assert 0 < result.manifest.rows["users"] < len(directories[0].users)
    text = (result.export_path / "manifest.json").read_text()
    assert CLIENT_SECRET not in text


def test_a_429_storm_longer_than_the_retries_ends_partial_with_the_reason(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    """Every 429 waits its Retry-After; when the storm outlasts ``max_retries`` the export is
    published partial, naming the throttling, with what was read before it."""
    from recon.sources.extract import extract_source, open_client

    graph.state.throttle = set(range(12, 40))
    graph.state.retry_after = "7"
    waits: list[float] = []
    cfg = config(graph, max_retries=3)
    system = cfg.system("entra")
    client = open_client(system, sleep=waits.append)
    try:
        request = ExtractRequest(system="entra", cycle="20260101T000000Z", page_size=50)
        result = extract_source(store, system, request, client=client)
    finally:
        client.close()
    assert result.manifest.status == "partial"
    stopped = [a for a in result.manifest.anomalies if a["kind"] == "crawl_stopped"]
    assert len(stopped) == 1 and "429" in stopped[0]["detail"]
    assert graph.state.throttled == 4  # the first try and 3 retries
    assert [round(w) for w in waits] == [7, 7, 7]
    assert 0 < result.manifest.rows["users"] < len(directories[0].users)


def test_a_full_export_records_graphs_own_counts_beside_the_exported_ones(
    graph: ServedGraph, directories: list[Directory], store: Store
) -> None:
    result = extract(store, config(graph), "20260101T000000Z")
    directory = directories[0]
    manifest = result.manifest
    assert manifest.total_results == {"Users": len(directory.users), "Groups": len(directory.groups)}
    check = manifest.origin["count_check"]
    assert check["Users"] == {"exported": len(directory.users), "provider": len(directory.users)}
    # the app-assignment group is recon's: not counted against Graph's groups
    assert manifest.rows["groups"] == len(directory.groups) + 1
    assert check["Groups"] == {"exported": len(directory.groups), "provider": len(directory.groups)}
    assert not [a for a in manifest.anomalies if a["kind"] == "provider_count_differs"]
    delta = extract(store, config(graph), "20260102T000000Z", since="20260101T000000Z")
    assert delta.manifest.total_results == {} and "count_check" not in delta.manifest.origin


def test_extract_prints_a_count_that_differs_from_graphs(
    directories: list[Directory],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from recon.cli import main

    with serve_graph(directories[0], tmp_path, count_lag=3) as graph:
        toml = tmp_path / "recon.toml"
        toml.write_text(
            f'[systems.entra]\nkind = "entra"\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n'
            f'client_secret_env = "{SECRET_ENV}"\ngraph_url = "{graph.url}"\n'
            f'login_url = "{graph.url}"\nca_bundle = "{graph.ca_bundle}"\n'
        )
        common = ["--system", "entra", "--config", str(toml), "--data-dir", str(tmp_path / "data")]
        code = main(["extract", *common, "--cycle", "20260101T000000Z"])
    out = capsys.readouterr().out
    users, groups = len(directories[0].users), len(directories[0].groups)
    assert code == 0  # the listing is the export; the count is a check
    assert "provider count: GET /users/$count, /groups/$count (ConsistencyLevel: eventual)" in out
    assert f"! users: {users:,} exported, entra counts {users + 3:,}: DIFFERENT" in out
    assert f"- groups: {groups:,} exported = {groups:,} counted by entra" in out
    assert "provider_count_differs" in out
