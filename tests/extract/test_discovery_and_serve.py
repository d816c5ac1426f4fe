"""Discovery tolerates missing endpoints; serve.py serves an export that extracts back identically."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import pytest
from fake_scim import BASE, TOKEN, scim_json, user

from recon.extract.files import import_files
from recon.scim.client import ScimClient
from recon.scim.discovery import discover
from recon.simulate.serve import demo_extract, serve_export
from recon.store import Store

SPC = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "bulk": {"supported": True, "maxOperations": 500, "maxPayloadSize": 1048576},
    "filter": {"supported": "true", "maxResults": 200},
    "sort": {"supported": False},
    "etag": {"supported": True},
    "patch": {"supported": True},
}
USER_SCHEMA = {
    "id": "urn:ietf:params:scim:schemas:core:2.0:User",
    "attributes": [
        {"name": "userName", "type": "string", "caseExact": False, "uniqueness": "server"},
        {
            "name": "emails",
            "type": "complex",
            "multiValued": True,
            "subAttributes": [{"name": "value", "type": "string", "caseExact": False, "uniqueness": "none"}],
        },
    ],
}


def client_for(routes: dict[str, httpx.Response]) -> ScimClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return routes.get(request.url.path.removeprefix("/v2"), scim_json({"detail": "not found"}, 404))

    return ScimClient(BASE, TOKEN, transport=httpx.MockTransport(handler), sleep=lambda s: None)


def test_discovery_records_missing_endpoints_and_flattens_schemas() -> None:
    routes = {
        "/ServiceProviderConfig": scim_json(SPC),
        "/Schemas": scim_json([USER_SCHEMA]),  # a bare array, as some servers do
    }
    advertised = discover(client_for(routes))
    assert advertised["endpoints_missing"] == ["/ResourceTypes"]
    assert advertised["bulk"] == {"supported": True, "maxOperations": 500, "maxPayloadSize": 1048576}
    assert advertised["filter"] == {"supported": True, "maxResults": 200}
    assert advertised["pagination"]["advertised"] is False
    assert (advertised["pagination"]["index"], advertised["pagination"]["cursor"]) == (True, False)
    attributes = advertised["attributes"]["urn:ietf:params:scim:schemas:core:2.0:User"]
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["emails.value"]["caseExact"] is False


def test_discovery_with_every_endpoint_missing_is_empty_not_an_error() -> None:
    advertised = discover(client_for({}))
    assert advertised["endpoints_missing"] == ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
    assert advertised["filter"]["supported"] is False
    assert advertised["resource_types"] == [] and advertised["attributes"] == {}


@pytest.fixture
def idp_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "data")
    ndjson = tmp_path / "idp.ndjson"
    resources = [user(n) for n in range(230)]
    resources.append(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g1",
            "displayName": "admins",
            "members": [{"value": "u0001", "type": "User"}, {"value": "u0002", "type": "User"}],
        }
    )
    ndjson.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    import_files(store, [ndjson], system="idp", cycle="20260105T020000Z")
    return store


def test_served_export_pages_by_index_and_cursor(idp_store: Store) -> None:
    with (
        serve_export(idp_store, "idp", max_page_size=100) as served,
        ScimClient(served.base_url, served.token) as c,
    ):
        assert served.users == 230
        by_index = [
            r["id"] for p in c.list_pages("Users", page_size=500, method="index") for r in p.resources
        ]
        by_cursor = [
            r["id"] for p in c.list_pages("Users", page_size=70, method="cursor") for r in p.resources
        ]
        assert by_index == by_cursor == [f"u{n:04d}" for n in range(230)]
        assert c.request("GET", "/Users", params={"filter": 'userName eq "x"'}).status_code == 501
        assert c.get_json("/Users/u0007")["userName"] == "user7@example.com"
        assert httpx.get(f"{served.base_url}/Users").status_code == 401  # no token


def test_demo_extract_gives_back_the_served_tables(idp_store: Store) -> None:
    result = demo_extract(idp_store, source="idp", into="idp-live")
    assert result.manifest.status == "complete"
    assert result.manifest.cycle == "20260105T020000Z"
    source = idp_store.latest_complete("idp")
    for table in ("users", "groups", "memberships"):
        expected = pl.read_parquet(source.table(table))
        got = pl.read_parquet(result.export_path / f"{table}.parquet")
        if "raw" in expected.columns:  # same JSON, but the import kept the file's spacing
            assert [json.loads(r) for r in got["raw"]] == [json.loads(r) for r in expected["raw"]]
            expected, got = expected.drop("raw"), got.drop("raw")
        assert got.equals(expected), table
