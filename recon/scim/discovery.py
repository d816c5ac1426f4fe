"""Capability discovery: /ServiceProviderConfig, /ResourceTypes and /Schemas → ``advertised``.

The result has the shape documented in :mod:`recon.capabilities`. A server that answers 404
(or 405, or 501) for an endpoint is recorded in ``endpoints_missing`` and that part stays
empty; anything else that goes wrong raises :class:`~recon.errors.ScimError`.
Attribute characteristics are flattened per schema URN to ``attr`` and ``attr.sub`` keys.
"""

from __future__ import annotations

from typing import Any

from recon.errors import ScimError
from recon.scim.client import ScimClient

__all__ = ["ENDPOINTS", "advertised_from", "discover", "flatten_attributes"]

ENDPOINTS = ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas")
_MISSING = {404, 405, 501}
_CHARACTERISTICS = (
    "type",
    "multiValued",
    "caseExact",
    "uniqueness",
    "mutability",
    "returned",
    "required",
    "canonicalValues",
)


def _fetch(client: ScimClient, path: str) -> tuple[Any, int]:
    response, value = client.fetch_json("GET", path)
    if response.status_code in _MISSING:
        return None, response.status_code
    if response.status_code != 200:
        raise client.status_error(response)
    return value, 200


def _resources(value: Any) -> list[dict[str, Any]]:
    """A ListResponse's Resources, a bare JSON array, or one object (some servers do each)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        listed = value.get("Resources")
        if isinstance(listed, list):
            return [v for v in listed if isinstance(v, dict)]
        if "id" in value:
            return [value]
    return []


def _flag(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    value = block.get("supported")
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _number(block: Any, key: str) -> int | None:
    if not isinstance(block, dict):
        return None
    value = block.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def flatten_attributes(schemas: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{schema urn: {"userName" | "emails.value": characteristics}}`` from /Schemas resources."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for schema in schemas:
        urn = schema.get("id")
        if not isinstance(urn, str):
            continue
        flat: dict[str, dict[str, Any]] = {}
        for attribute in schema.get("attributes") or []:
            if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
                continue
            name = attribute["name"]
            flat[name] = {k: attribute[k] for k in _CHARACTERISTICS if k in attribute}
            for sub in attribute.get("subAttributes") or []:
                if isinstance(sub, dict) and isinstance(sub.get("name"), str):
                    flat[f"{name}.{sub['name']}"] = {k: sub[k] for k in _CHARACTERISTICS if k in sub}
        result[urn] = flat
    return result


def advertised_from(
    spc: dict[str, Any] | None,
    resource_types: list[dict[str, Any]],
    schemas: list[dict[str, Any]],
    missing: list[str],
) -> dict[str, Any]:
    """Build the ``advertised`` block of capabilities.json from what the endpoints served."""
    config = spc or {}
    pagination = config.get("pagination")
    paging: dict[str, Any]
    if isinstance(pagination, dict):
        default_method = pagination.get("defaultPaginationMethod")
        paging = {
            "advertised": True,
            "cursor": bool(pagination.get("cursor")),
            "index": bool(pagination.get("index", True)),
            "defaultPaginationMethod": default_method if isinstance(default_method, str) else None,
            "defaultPageSize": _number(pagination, "defaultPageSize"),
            "maxPageSize": _number(pagination, "maxPageSize"),
            "cursorTimeout": _number(pagination, "cursorTimeout"),
        }
    else:  # RFC 7644 servers: index paging only, sizes unknown
        paging = {
            "advertised": False,
            "cursor": False,
            "index": True,
            "defaultPaginationMethod": None,
            "defaultPageSize": None,
            "maxPageSize": None,
            "cursorTimeout": None,
        }
    bulk = config.get("bulk")
    filters = config.get("filter")
    return {
        "service_provider_config": spc,
        "bulk": {
            "supported": _flag(bulk),
            "maxOperations": _number(bulk, "maxOperations"),
            "maxPayloadSize": _number(bulk, "maxPayloadSize"),
        },
        "filter": {"supported": _flag(filters), "maxResults": _number(filters, "maxResults")},
        "sort": {"supported": _flag(config.get("sort"))},
        "etag": {"supported": _flag(config.get("etag"))},
        "patch": {"supported": _flag(config.get("patch"))},
        "changePassword": {"supported": _flag(config.get("changePassword"))},
        "pagination": paging,
        "authentication_schemes": [
            {k: s.get(k) for k in ("type", "name") if k in s}
            for s in config.get("authenticationSchemes") or []
            if isinstance(s, dict)
        ],
        "resource_types": resource_types,
        "schemas": schemas,
        "attributes": flatten_attributes(schemas),
        "endpoints_missing": missing,
    }


def discover(client: ScimClient) -> dict[str, Any]:
    """Read the three discovery endpoints and return the ``advertised`` dict."""
    missing: list[str] = []
    served: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        value, _status = _fetch(client, endpoint)
        if value is None:
            missing.append(endpoint)
        served[endpoint] = value
    spc = served["/ServiceProviderConfig"]
    if spc is not None and not isinstance(spc, dict):
        raise ScimError(
            f"/ServiceProviderConfig is a JSON {type(spc).__name__}, not an object",
            url=client.url("/ServiceProviderConfig"),
        )
    if isinstance(spc, dict) and "Resources" in spc and "patch" not in spc:
        listed = _resources(spc)  # a few servers wrap it in a ListResponse
        spc = listed[0] if listed else None
    return advertised_from(spc, _resources(served["/ResourceTypes"]), _resources(served["/Schemas"]), missing)
