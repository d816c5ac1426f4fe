"""Live extraction against a real scim2-server on 127.0.0.1 (fixtures in tests/conftest.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from scim_server import ENTERPRISE, ScimServer, ScimServerFactory

from recon.capabilities import load_capabilities
from recon.extract.files import since_filter
from recon.extract.live import ExtractRequest, ExtractResult, ProgressEvent, discover_and_save, extract_live
from recon.extract.resume import ResumeJournal
from recon.scim.client import ScimClient
from recon.store import Store

pytestmark = pytest.mark.live


def extract(
    store: Store, server: ScimServer, request: ExtractRequest, page_size: int = 500, **kwargs: Any
) -> ExtractResult:
    with ScimClient(server.base_url, server.token) as client:
        return extract_live(store, client, request, page_size=page_size, **kwargs)


def assert_users_equal_seeded(result: ExtractResult, server: ScimServer, ids: list[str]) -> None:
    users = pl.read_parquet(result.export_path / "users.parquet")
    assert sorted(users["id"].to_list()) == sorted(ids)
    for row in users.iter_rows(named=True):
        sent = server.users[row["id"]]
        assert row["user_name"] == sent["userName"]
        assert row["external_id"] == sent["externalId"]
        assert row["active"] == sent["active"]
        assert row["given_name"] == sent["name"]["givenName"]
        assert row["family_name"] == sent["name"]["familyName"]
        assert row["primary_email"] == sent["emails"][0]["value"]
        assert row["title"] == sent["title"]
        assert row["department"] == sent[ENTERPRISE]["department"]
        assert row["employee_number"] == sent[ENTERPRISE]["employeeNumber"]


def assert_groups_equal_seeded(result: ExtractResult, server: ScimServer) -> None:
    groups = pl.read_parquet(result.export_path / "groups.parquet")
    assert dict(zip(groups["id"], groups["display_name"], strict=True)) == {
        gid: payload["displayName"] for gid, payload in server.groups.items()
    }
    memberships = pl.read_parquet(result.export_path / "memberships.parquet")
    got = set(zip(memberships["group_id"], memberships["member_id"], memberships["member_type"], strict=True))
    assert got == {(gid, mid, kind) for gid, members in server.members.items() for mid, kind in members}


def watermark_after(server: ScimServer, index: int) -> str:
    """The lastModified of the seeded user number ``index`` (users were created in order)."""
    return str(server.get_user(server.user_ids[index])["meta"]["lastModified"])


# -- the seeded servers, 2,000 users (rich) and 500 (limited), read-only ---------------------------
@pytest.fixture(scope="module")
def rich_full(rich_scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory) -> ExtractResult:
    store = Store(tmp_path_factory.mktemp("rich") / "data")
    return extract(store, rich_scim_server, ExtractRequest(system="rich", cycle="c1"))


@pytest.fixture(scope="module")
def limited_full(limited_scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory) -> ExtractResult:
    store = Store(tmp_path_factory.mktemp("limited") / "data")
    return extract(store, limited_scim_server, ExtractRequest(system="limited", cycle="c1"))


@pytest.mark.slow
def test_rich_full_export_equals_what_was_seeded(
    rich_full: ExtractResult, rich_scim_server: ScimServer
) -> None:
    assert_users_equal_seeded(rich_full, rich_scim_server, rich_scim_server.user_ids)
    assert_groups_equal_seeded(rich_full, rich_scim_server)
    manifest = rich_full.manifest
    assert (manifest.status, manifest.kind, manifest.anomalies) == ("complete", "full", [])
    assert manifest.total_results == {"Users": 2000, "Groups": 50}
    assert manifest.items_received == {"Users": 2000, "Groups": 50}
    assert manifest.origin["plan"]["paging"] == {"Users": "cursor", "Groups": "cursor"}
    assert manifest.pages == 5  # 4 x 500 users + 1 page of groups
    assert (rich_full.export_path / "manifest.json").is_file()


def test_limited_full_export_pages_by_index_within_the_server_cap(
    limited_full: ExtractResult, limited_scim_server: ScimServer
) -> None:
    assert_users_equal_seeded(limited_full, limited_scim_server, limited_scim_server.user_ids)
    assert_groups_equal_seeded(limited_full, limited_scim_server)
    manifest = limited_full.manifest
    assert manifest.status == "complete"
    assert manifest.origin["plan"]["paging"] == {"Users": "index", "Groups": "index"}
    assert manifest.origin["plan"]["page_size"] == 100  # asked 500, maxPageSize 100
    assert manifest.pages == 5 + 1 + 2  # 500 users, 50 groups, one empty page past each end


def test_rich_delta_is_what_the_server_filtered(rich_scim_server: ScimServer, tmp_path: Path) -> None:
    since = watermark_after(rich_scim_server, 1500)
    result = extract(
        Store(tmp_path / "data"), rich_scim_server, ExtractRequest("rich", cycle="c2", since=since)
    )
    assert_users_equal_seeded(result, rich_scim_server, rich_scim_server.user_ids[1501:])
    assert_groups_equal_seeded(result, rich_scim_server)  # groups were created after every user
    manifest = result.manifest
    assert (manifest.kind, manifest.status, manifest.filtered_locally) == ("delta", "complete", False)
    assert (manifest.filter, manifest.watermark) == since_filter(since)
    assert manifest.total_results == {"Users": 499, "Groups": 50}


def test_limited_delta_falls_back_and_says_so(limited_scim_server: ScimServer, tmp_path: Path) -> None:
    since = watermark_after(limited_scim_server, 375)
    request = ExtractRequest("limited", cycle="c2", since=since, resources=("Users",))
    result = extract(Store(tmp_path / "data"), limited_scim_server, request)
    assert_users_equal_seeded(result, limited_scim_server, limited_scim_server.user_ids[376:])
    manifest = result.manifest
    assert (manifest.kind, manifest.status, manifest.filtered_locally) == ("delta", "complete", True)
    assert (manifest.filter, manifest.watermark) == since_filter(since)
    assert [a["kind"] for a in manifest.anomalies] == ["filter_unsupported"]
    assert manifest.items_received == {"Users": 500}


# -- small servers that tests may change ----------------------------------------------------
@pytest.mark.parametrize("profile", ["rich", "limited"])
def test_delta_equals_the_users_changed_after_the_watermark(
    scim_server: ScimServerFactory, profile: str, tmp_path: Path
) -> None:
    server = scim_server(profile, users=120, groups=3)
    time.sleep(0.01)
    watermark = datetime.now(UTC).isoformat()
    changed = server.user_ids[5:40:5]
    for user_id in changed:
        server.patch_user(user_id, {"title": "Changed"})
    result = extract(
        Store(tmp_path / "data"),
        server,
        ExtractRequest("app", cycle="d1", since=watermark, resources=("Users",)),
    )
    assert_users_equal_seeded(result, server, changed)
    assert result.manifest.filtered_locally is (profile == "limited")
    assert result.manifest.status == "complete"


def test_filter_advertised_but_refused_falls_back(scim_server: ScimServerFactory, tmp_path: Path) -> None:
    server = scim_server("limited", users=30)
    store = Store(tmp_path / "data")
    with ScimClient(server.base_url, server.token) as client:
        capabilities = discover_and_save(store, client, "app")
    capabilities.advertised["filter"]["supported"] = True  # a server that claims a filter it refuses (501)
    request = ExtractRequest("app", cycle="d1", since="2020-01-01T00:00:00Z", resources=("Users",))
    result = extract(store, server, request, capabilities=capabilities)
    assert_users_equal_seeded(result, server, server.user_ids)
    assert result.manifest.filtered_locally is True
    fallback = [a for a in result.manifest.anomalies if a["kind"] == "filter_fallback"]
    assert fallback and "HTTP 501" in fallback[0]["detail"]
    observed = load_capabilities(store, "app")
    assert observed is not None and observed.observed["Users.filter_refused"]["value"] == 501


def test_concurrent_index_paging_equals_sequential(scim_server: ScimServerFactory, tmp_path: Path) -> None:
    server = scim_server("limited", users=250, groups=2)
    request = ExtractRequest("app", cycle="c1", concurrency=3)
    result = extract(Store(tmp_path / "data"), server, request, page_size=40)
    assert_users_equal_seeded(result, server, server.user_ids)
    assert_groups_equal_seeded(result, server)
    assert result.manifest.status == "complete"
    assert result.manifest.origin["plan"]["concurrency"] == 3


@pytest.mark.parametrize("paging", ["cursor", "index"])
def test_interrupted_extract_leaves_nothing_complete_and_resumes(
    scim_server: ScimServerFactory, paging: str, tmp_path: Path
) -> None:
    server = scim_server("rich", users=250, groups=2)
    store = Store(tmp_path / "data")

    def interrupt(event: ProgressEvent) -> None:
        if event.resource == "Users" and event.pages == 2:
            raise KeyboardInterrupt

    request = ExtractRequest("app", cycle="c1", paging=paging)
    with pytest.raises(KeyboardInterrupt):
        extract(store, server, request, page_size=50, progress=interrupt)
    assert not list(store.root.rglob("manifest.json"))
    assert not (store.root / "exports").exists() or not list((store.root / "exports").rglob("*.parquet"))
    assert ResumeJournal.pending(store, "app") == ["c1.full"]

    resumed = extract(store, server, ExtractRequest("app", resume=True), page_size=50)
    assert resumed.manifest.cycle == "c1" and resumed.resumed
    assert resumed.manifest.origin["resumed_pages"] == 2
    assert resumed.manifest.status == "complete"
    assert_users_equal_seeded(resumed, server, server.user_ids)
    assert_groups_equal_seeded(resumed, server)
    assert ResumeJournal.pending(store, "app") == []
