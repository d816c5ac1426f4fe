"""Okta as a system, against the local Okta fake (tests/sources/fake_okta.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from directory import Directory, okta_user
from fake_okta import API_TOKEN, APP_ID, CLIENT_ID, ServedOkta, serve_okta
from idp_fixtures import directories_fixture, simulated_fixture  # noqa: F401  (fixtures)

from recon.config.toml import Config, parse_config
from recon.deltas.run import deltas
from recon.extract.crawl import ExtractRequest
from recon.sources.system import extract_system
from recon.store import Store

TOKEN_ENV = "RECON_TEST_OKTA_TOKEN"


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, API_TOKEN)


@pytest.fixture
def okta(directories: list[Directory]) -> Iterator[ServedOkta]:
    with serve_okta(directories[0]) as served:
        yield served


def config(served: ServedOkta, **extra: Any) -> Config:
    table = {"kind": "okta", "base_url": served.url, "app_id": APP_ID, "max_retries": 8, **extra}
    if "private_key_file" not in table:
        table["token_env"] = TOKEN_ENV
    return parse_config({"systems": {"okta": table}})


def extract(store: Store, cfg: Config, cycle: str, since: str | None = None):  # type: ignore[no-untyped-def]
    return extract_system(store, cfg, ExtractRequest(system="okta", cycle=cycle, since=since))


def _rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def expected_user_row(user: dict[str, Any]) -> dict[str, Any]:
    """The Okta SCIM app's default mapping of a served Okta user (from the fake's side)."""
    o = okta_user(user)
    p = o["profile"]
    return {
        "id": o["id"],
        "external_id": o["id"],
        "user_name": p["login"],
        "active": o["status"] == "ACTIVE",
        "display_name": p["displayName"],
        "given_name": p["firstName"],
        "family_name": p["lastName"],
        "primary_email": p["email"],
        "title": p["title"],
        "department": p["department"],
        "employee_number": p["employeeNumber"],
        "manager_id": p["managerId"],
        "user_type": p["userType"],
    }


def test_full_export_includes_deprovisioned_users_and_equals_the_directory(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    directory = directories[0]
    leavers = [u for u in directory.users.values() if not u.get("active")]
    assert leavers, "the simulated directory has no leavers"
    result = extract(store, config(okta), "20260101T000000Z")
    assert result.manifest.status == "complete", result.manifest.anomalies
    keys = list(expected_user_row(leavers[0]))
    got = {row["id"]: {k: row[k] for k in keys} for row in _rows(result.export_path / "users.parquet")}
    assert got == {uid: expected_user_row(u) for uid, u in directory.users.items()}
    assignment = f"app-assignment:{APP_ID}"
    memberships = _rows(result.export_path / "memberships.parquet")
    served = {
        (gid, m["value"])
        for gid in directory.groups
        for m in directory.members(gid)
        if m["value"] in directory.users
    }
    assert {(m["group_id"], m["member_id"]) for m in memberships if m["group_id"] != assignment} == served
    population = {m["member_id"] for m in memberships if m["group_id"] == assignment}
    assert population == directory.expected_population()
    assert result.manifest.origin["requests_sent"]["users_deprovisioned"] == {
        "filter": 'status eq "DEPROVISIONED"'
    }


def test_lastupdated_delta_findings_equal_the_simulators_changes(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    cfg = config(okta)
    base, head = "20260101T000000Z", "20260102T000000Z"
    extract(store, cfg, base)
    before, after = directories[0], directories[1]
    okta.state.directory = after
    stamps = [u["meta"]["lastModified"] for u in before.users.values()]
    watermark = max(stamps)  # what a watermark taken at the base export is
    delta = extract(store, cfg, head, since=watermark)
    assert delta.manifest.watermark == watermark
    assert delta.manifest.filter == f'meta.lastModified gt "{watermark}"'
    extract(store, cfg, head)
    summary = deltas(store, "okta", base, head)
    rows = _rows(store.deltas_dir("okta", head) / "delta_findings.parquet")
    # The truth, from the simulator's two directories: Okta's filter returns what is stamped after
    # the watermark; a change stamped at or before it is missed (and its stamp is stale), a
    # deletion cannot be returned. The app-assignment group is recon's: never a finding.
    truth: set[tuple[str, str, str]] = set()
    for kind, old, new, row in (
        ("User", before.users, after.users, expected_user_row),
        ("Group", before.groups, after.groups, None),
    ):

        def content(directory: Directory, rid: str, kind: str = kind, row: Any = row) -> Any:
            if row is not None:
                return row(directory.users[rid])
            members = {m["value"] for m in directory.members(rid) if m["value"] in directory.users}
            return directory.groups[rid].get("displayName"), members

        for rid in set(old) | set(new):
            if rid not in new:
                truth.add(("unreported_deletion", kind, rid))
                continue
            stamped_after = new[rid]["meta"]["lastModified"] > watermark
            if rid in old and content(before, rid) != content(after, rid) and not stamped_after:
                truth |= {("missed_change", kind, rid), ("stale_last_modified", kind, rid)}
            if rid not in old and not stamped_after:
                truth |= {("missed_creation", kind, rid), ("stale_last_modified", kind, rid)}
    found = {(row["kind"], row["resource_type"], row["id"]) for row in rows}
    assert found == truth
    assert any(kind == "Group" for _, kind, _ in truth), "the simulator planted no stale group change"
    assert delta.manifest.rows["users"] > 0
    assert summary.watermark == watermark


def test_rate_limit_headers_and_429_end_complete(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    okta.state.rate_limit = 6
    result = extract(store, config(okta), "20260101T000000Z")
    assert result.manifest.status == "complete"
    client = result.manifest.origin["client"]
    assert client["throttled"] + client["rate_limit_waits"] >= 1
    assert result.manifest.rows["users"] == len(directories[0].users)


def test_oauth_service_app_with_private_key_jwt(
    okta: ServedOkta, directories: list[Directory], store: Store, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "okta.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    okta.state.public_key = key.public_key()
    okta.state.token_uses = 10  # the access token expires mid-crawl: renewed with a new assertion
    cfg = config(okta, private_key_file=str(pem), client_id=CLIENT_ID, key_id="k1")
    result = extract(store, cfg, "20260101T000000Z")
    assert result.manifest.status == "complete"
    assert result.manifest.origin["client"]["token_renewals"] >= 1
    assert result.manifest.rows["users"] == len(directories[0].users)


def test_an_ssws_token_revoked_mid_crawl_ends_partial_with_the_reason(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    # after the app's assignments (2 requests), the user pages (3) and a few groups' members
    okta.state.revoke_after = 10
    result = extract(store, config(okta), "20260101T000000Z")
    assert result.manifest.status == "partial"
    stopped = [a for a in result.manifest.anomalies if a["kind"] == "crawl_stopped"]
    assert stopped and "401" in stopped[0]["detail"]
    assert result.manifest.rows["users"] == len(directories[0].users)
    assert result.manifest.rows["groups"] < len(directories[0].groups)
    assert API_TOKEN not in (result.export_path / "manifest.json").read_text()


def test_a_429_storm_longer_than_the_retries_ends_partial_with_the_reason(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    """Okta's 429 carries no Retry-After: recon waits until X-Rate-Limit-Reset; when the limit
    outlasts ``max_retries`` the export is published partial, naming the throttling."""
    from recon.sources.extract import extract_source, open_client

    okta.state.rate_limit, okta.state.window = 8, 600.0  # then every request is 429 for 10 minutes
    waits: list[float] = []
    cfg = config(okta, max_retries=2)
    system = cfg.system("okta")
    client = open_client(system, sleep=waits.append)
    try:
        result = extract_source(
            store, system, ExtractRequest(system="okta", cycle="20260101T000000Z"), client=client
        )
    finally:
        client.close()
    assert result.manifest.status == "partial"
    stopped = [a for a in result.manifest.anomalies if a["kind"] == "crawl_stopped"]
    assert len(stopped) == 1 and "429" in stopped[0]["detail"]
    assert okta.state.throttled == 3  # the first try and 2 retries
    assert len([w for w in waits if w > 60]) >= 2  # each retry waited for the reset, not a backoff
    assert result.manifest.rows["users"] < len(directories[0].users) or result.manifest.rows.get(
        "groups", 0
    ) < len(directories[0].groups)


def test_a_full_export_says_okta_has_no_count_and_names_the_console(
    okta: ServedOkta, directories: list[Directory], store: Store
) -> None:
    from recon.sources.counts import count_lines

    result = extract(store, config(okta), "20260101T000000Z")
    manifest = result.manifest
    assert manifest.total_results == {"Users": None, "Groups": None}
    assert "no count endpoint" in manifest.origin["count_check"]["source"]
    lines = count_lines(manifest)
    assert lines[0] == "provider count: none: the Okta Management API has no count endpoint"
    users = len(directories[0].users)
    assert lines[1] == (
        f"- users: {users:,} exported; compare with Okta Admin Console > Directory > People, status All"
    )
    assert "besides the app-assignment group" in lines[2]
