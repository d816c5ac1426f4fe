"""Helpers for the live bulk tests: export a running scim2-server, record its capabilities, seed drift."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import orjson
from scim_server import ScimServer

from recon.capabilities import Capabilities, save_capabilities
from recon.engine import open_session
from recon.extract.normalize import normalise
from recon.extract.writer import ExportWriter
from recon.store import ExportRef, Manifest, Store


def export_server(store: Store, system: str, server: ScimServer, cycle: str) -> ExportRef:
    """A full export of everything the server holds (index paging), written like an extraction."""
    ref = store.export(system, cycle)
    with store.publishing(ref.path) as staging, server.http() as client:
        writer = ExportWriter(staging)
        for endpoint in ("Users", "Groups"):
            start = 1
            while True:
                page = client.get(f"/{endpoint}", params={"startIndex": start, "count": 100})
                page.raise_for_status()
                resources = page.json().get("Resources") or []
                for resource in resources:
                    writer.add(normalise(resource))
                if not resources:
                    break
                start += len(resources)
        con = open_session()
        try:
            writer.finish(con, Manifest(system=system, cycle=cycle, kind="full"))
        finally:
            con.close()
    return ref


def extractor(server: ScimServer, cycles: list[str]) -> Callable[[Store, str], ExportRef]:
    """An apply ``extract`` callable exporting ``server`` under the next cycle id of ``cycles``."""
    remaining = iter(cycles)

    def extract(store: Store, system: str) -> ExportRef:
        return export_server(store, system, server, next(remaining))

    return extract


def record_capabilities(store: Store, system: str, server: ScimServer) -> None:
    """capabilities.json from the server's ServiceProviderConfig (what recon discover stores)."""
    with server.http() as client:
        spc = client.get("/ServiceProviderConfig").json()
    advertised: dict[str, Any] = {
        "service_provider_config": spc,
        "bulk": {
            "supported": bool(spc["bulk"]["supported"]),
            "maxOperations": spc["bulk"].get("maxOperations"),
            "maxPayloadSize": spc["bulk"].get("maxPayloadSize"),
        },
        **{key: {"supported": bool(spc[key]["supported"])} for key in ("filter", "etag", "patch", "sort")},
    }
    save_capabilities(store, Capabilities(system=system, base_url=server.base_url, advertised=advertised))


def snapshot(server: ScimServer) -> dict[str, Any]:
    """Every resource the server holds, keyed by id (meta included, so a version bump shows)."""
    out: dict[str, Any] = {}
    with server.http() as client:
        for endpoint in ("Users", "Groups"):
            for start in itertools.count(1, 100):
                resources = client.get(f"/{endpoint}", params={"startIndex": start, "count": 100}).json()
                page = resources.get("Resources") or []
                out.update({r["id"]: r for r in page})
                if not page:
                    break
    return out


def seed_from_export(server: ScimServer, ref: ExportRef) -> dict[str, str]:
    """Load an export's users, then groups (from ``raw``) into the server through /Bulk; old id -> new id.

    ``id`` and ``meta`` are dropped (the server assigns them). A user the server refuses (e.g. a
    userName differing only in case: 409) is left out, and so are group members it cannot point at.
    Nested groups refer to each other by bulkId (the server orders them).
    """
    import polars as pl

    def bulk(operations: list[dict[str, Any]]) -> dict[str, str]:
        size = int(server.config["bulk"]["maxOperations"])
        created: dict[str, str] = {}
        with server.http() as client:
            for start in range(0, len(operations), size):
                part = operations[start : start + size]
                body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": part}
                answer = client.post("/Bulk", json=body)
                answer.raise_for_status()
                created.update(
                    (op["bulkId"], op["location"].rstrip("/").rsplit("/", 1)[1])
                    for op in answer.json()["Operations"]
                    if str(op["status"]) == "201"
                )
        return created

    users = pl.read_parquet(ref.table("users"), columns=["id", "raw"])
    mapping = bulk(
        [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": old_id,
                "data": {k: v for k, v in orjson.loads(raw).items() if k not in ("id", "meta", "groups")},
            }
            for old_id, raw in users.iter_rows()
        ]
    )
    groups = {
        old_id: orjson.loads(raw)
        for old_id, raw in pl.read_parquet(ref.table("groups")).select("id", "raw").iter_rows()
    }
    operations = []
    for old_id, body in groups.items():
        members = [
            {
                "value": mapping[m["value"]] if m["value"] in mapping else f"bulkId:{m['value']}",
                "type": m.get("type") or "User",
            }
            for m in body.get("members") or []
            if m.get("value") in mapping or m.get("value") in groups
        ]
        data = {k: v for k, v in body.items() if k not in ("id", "meta", "members")}
        operations.append(
            {"method": "POST", "path": "/Groups", "bulkId": old_id, "data": {**data, "members": members}}
        )
    mapping.update(bulk(operations) if operations else {})
    return mapping
