"""Helpers of the validate tests: small hand-written exports, imported the way users import them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from recon.capabilities import Capabilities, save_capabilities
from recon.extract.files import import_files
from recon.store import Store

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

Finding = tuple[str, str, str, str]  # kind, resource_type, id, attribute


def user(rid: str, **attributes: Any) -> dict[str, Any]:
    """A schema-valid core User (userName from the id) with ``attributes`` added or replaced."""
    resource: dict[str, Any] = {
        "schemas": [USER],
        "id": rid,
        "userName": f"{rid}@example.com",
        "active": True,
    }
    resource.update(attributes)
    return resource


def group(rid: str, **attributes: Any) -> dict[str, Any]:
    """A schema-valid Group (displayName from the id) with ``attributes`` added or replaced."""
    resource: dict[str, Any] = {"schemas": [GROUP], "id": rid, "displayName": f"group {rid}"}
    resource.update(attributes)
    return resource


class Exports:
    """Writes resources as a JSON file and imports them (``recon import``) into a store."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store = store
        self.folder = folder

    def add(self, resources: Iterable[dict[str, Any]], system: str = "app", cycle: str = "c1") -> None:
        path = self.folder / f"{system}-{cycle}.json"
        path.write_text(json.dumps(list(resources)), encoding="utf-8")
        import_files(self.store, [path], system=system, cycle=cycle)

    def declare(
        self, system: str, schemas: list[dict[str, Any]], resource_types: list[dict[str, Any]]
    ) -> None:
        """Store capabilities as ``recon discover`` would: the server's /Schemas and /ResourceTypes."""
        advertised = {"schemas": schemas, "resource_types": resource_types}
        save_capabilities(
            self.store, Capabilities(system, advertised=advertised, discovered_at="2026-01-01T00:00:00Z")
        )


def found(path: Path) -> set[Finding]:
    """The (kind, resource_type, id, attribute) of every row of a schema_findings.parquet."""
    return {
        (row["kind"], row["resource_type"], row["id"], row["attribute"])
        for row in pq.read_table(path).to_pylist()
    }
