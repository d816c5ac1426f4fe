"""capabilities.json (CONTRACT §6): what a SCIM server advertises and what recon observed.

Layout of the file::

    {
      "system": "slack",
      "base_url": "https://…/scim/v2",
      "discovered_at": "2026-11-28T15:00:00Z",
      "advertised": {
        "service_provider_config": {…as served…} | null,
        "bulk": {"supported": bool, "maxOperations": int|null, "maxPayloadSize": int|null},
        "filter": {"supported": bool, "maxResults": int|null},
        "sort": {"supported": bool}, "etag": {"supported": bool}, "patch": {"supported": bool},
        "pagination": {"cursor": bool, "index": bool, "defaultPageSize": int|null,
                       "maxPageSize": int|null, "cursorTimeout": int|null},
        "resource_types": [ …/ResourceTypes resources… ],
        "schemas": [ …/Schemas resources… ],
        "attributes": {"<schema urn>": {"<attr or attr.sub>": {"type", "multiValued", "caseExact",
                        "uniqueness", "mutability", "returned", "required", "canonicalValues"}}},
        "endpoints_missing": ["/Schemas", …]
      },
      "observed": {"<key>": {"value": …, "observed_at": "…", "by": "extract" | "probe"}}
    }

A server that 404s an endpoint is recorded in ``endpoints_missing`` and its part is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recon.store import Store, atomic_write_json, read_json_object

__all__ = ["Capabilities", "load_capabilities", "record_observation", "save_capabilities"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Capabilities:
    """The capability map of one system."""

    system: str
    base_url: str | None = None
    discovered_at: str | None = None
    advertised: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def bulk_limits(self) -> tuple[bool, int | None, int | None]:
        """(supported, maxOperations, maxPayloadSize) as advertised."""
        bulk = self.advertised.get("bulk") or {}
        return bool(bulk.get("supported")), bulk.get("maxOperations"), bulk.get("maxPayloadSize")

    def supports(self, feature: str) -> bool:
        """Whether ``filter``, ``sort``, ``etag``, ``patch`` or ``bulk`` is advertised."""
        return bool((self.advertised.get(feature) or {}).get("supported"))

    def pagination(self) -> dict[str, Any]:
        """The advertised pagination block (RFC 9865), empty when not served."""
        return dict(self.advertised.get("pagination") or {})

    def attribute(self, schema: str, path: str) -> dict[str, Any] | None:
        """Characteristics of ``path`` (e.g. ``userName``, ``emails.value``) in ``schema``, if served."""
        found = (self.advertised.get("attributes") or {}).get(schema, {}).get(path)
        return dict(found) if isinstance(found, dict) else None

    def observe(self, key: str, value: Any, by: str) -> None:
        """Record a measured behaviour, with the time it was seen."""
        self.observed[key] = {"value": value, "observed_at": _now(), "by": by}

    def to_json(self) -> dict[str, Any]:
        """The object written to ``capabilities.json``."""
        return {
            "system": self.system,
            "base_url": self.base_url,
            "discovered_at": self.discovered_at,
            "advertised": self.advertised,
            "observed": self.observed,
        }


def load_capabilities(store: Store, system: str) -> Capabilities | None:
    """The stored capabilities of ``system``, or None when ``recon discover`` never ran."""
    path = store.capabilities_dir(system) / "capabilities.json"
    data = read_json_object(path)
    if data is None:
        return None
    return Capabilities(
        system=data.get("system", system),
        base_url=data.get("base_url"),
        discovered_at=data.get("discovered_at"),
        advertised=data.get("advertised") or {},
        observed=data.get("observed") or {},
    )


def save_capabilities(store: Store, capabilities: Capabilities) -> None:
    """Write ``capabilities.json`` atomically."""
    path = store.capabilities_dir(capabilities.system) / "capabilities.json"
    atomic_write_json(path, capabilities.to_json())


def record_observation(store: Store, system: str, key: str, value: Any, by: str) -> Capabilities:
    """Add one observation to ``system``'s capabilities (creating the file if needed)."""
    capabilities = load_capabilities(store, system) or Capabilities(system=system)
    capabilities.observe(key, value, by)
    save_capabilities(store, capabilities)
    return capabilities
