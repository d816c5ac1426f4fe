"""The target's bulk limits and ETag support, as a plan uses them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recon.capabilities import load_capabilities
from recon.errors import UsageError
from recon.store import Store

__all__ = ["DEFAULT_MAX_OPERATIONS", "DEFAULT_MAX_PAYLOAD_SIZE", "Limits", "target_limits"]

DEFAULT_MAX_OPERATIONS = 1000
DEFAULT_MAX_PAYLOAD_SIZE = 1_048_576


@dataclass(frozen=True)
class Limits:
    """What the chunks must fit, whether bulk can be used, and whether to send If-Match."""

    bulk_supported: bool | None  # None: unknown (no capabilities.json)
    max_operations: int
    max_payload_size: int
    etag: bool | None  # None: unknown; If-Match is then sent when the export has versions
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {
            "bulk_supported": self.bulk_supported,
            "max_operations": self.max_operations,
            "max_payload_size": self.max_payload_size,
            "etag": self.etag,
            "origin": self.origin,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        return cls(
            bulk_supported=data.get("bulk_supported"),
            max_operations=int(data.get("max_operations") or DEFAULT_MAX_OPERATIONS),
            max_payload_size=int(data.get("max_payload_size") or DEFAULT_MAX_PAYLOAD_SIZE),
            etag=data.get("etag"),
            origin=str(data.get("origin") or ""),
        )


def target_limits(
    store: Store,
    target: str,
    *,
    max_operations: int | None = None,
    max_payload_size: int | None = None,
    etag: bool | None = None,
) -> Limits:
    """Limits from ``capabilities.json`` (``recon discover``), overridden by explicit options.

    Without discovery the RFC-typical 1,000 operations / 1 MiB are assumed and the plan says so.
    """
    for name, value in (("--max-operations", max_operations), ("--max-payload-size", max_payload_size)):
        if value is not None and value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    capabilities = load_capabilities(store, target)
    if capabilities is None:
        origin = "defaults (no capabilities.json: run recon discover for the target's limits)"
        supported, advertised_ops, advertised_bytes, advertised_etag = None, None, None, None
    else:
        origin = "capabilities.json"
        supported, advertised_ops, advertised_bytes = capabilities.bulk_limits()
        advertised_etag = capabilities.supports("etag")
    if max_operations is not None or max_payload_size is not None or etag is not None:
        origin += " + options"
    return Limits(
        bulk_supported=supported,
        max_operations=max_operations or _positive(advertised_ops) or DEFAULT_MAX_OPERATIONS,
        max_payload_size=max_payload_size or _positive(advertised_bytes) or DEFAULT_MAX_PAYLOAD_SIZE,
        etag=etag if etag is not None else advertised_etag,
        origin=origin,
    )


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
