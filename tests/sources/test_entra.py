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

from recon.config import Config, parse_config
from recon.deltas import deltas
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
    graph.state.publish(directories[1])
    dropped = sorted(set(directories[0].users) & set(directories[1].users))
    changed = [
        uid
        for uid in dropped
        if expected_user_row(directories[0].users[uid]) != expected_user_row(directories[1].users[uid])
    ]
    assert changed, "the simulator changed no user between the cycles"
    graph.state.drop_from_delta = set(changed[:3])
    delta = extract(store, cfg, head, since=base)
    assert delta.manifest.kind == "delta" and delta.manifest.status == "complete"
    assert delta.manifest.watermark is not None and "/users/delta" in delta.manifest.watermark
    extract(store, cfg, head)
    summary = deltas(store, "entra", base, head)
    findings = _rows(store.deltas_dir("entra", head) / "delta_findings.parquet")
    by_kind: dict[str, set[str]] = {}
    for row in findings:
        by_kind.setdefault(row["kind"], set()).add(row["id"])
    assert by_kind.get("missed_change") == set(changed[:3])
    created = set(directories[1].users) - set(directories[0].users)
    deleted = set(directories[0].users) - set(directories[1].users)
    assert created or deleted
    assert not by_kind.get("missed_creation")
    assert not by_kind.get("unreported_deletion")  # Graph reported them with @removed
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
    graph.state.token_uses = 9  # past the assignments (7 requests), into the users
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
