"""One page of a SCIM list (RFC 7644 §3.4.2): the request that asks for it, and the checked answer."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any

from recon.errors import ScimError

__all__ = ["LIST_RESPONSE", "Page", "PageRequest", "parse_list_response", "resource_ids"]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@dataclass(frozen=True)
class PageRequest:
    """One list request: ``start_index`` (index paging) or ``cursor`` (cursor paging) and ``count``."""

    count: int
    start_index: int | None = None
    cursor: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def params(self) -> dict[str, Any]:
        """Query parameters of the request."""
        params: dict[str, Any] = dict(self.extra)
        if self.cursor is not None:
            params["cursor"] = self.cursor
        if self.start_index is not None:
            params["startIndex"] = self.start_index
        params["count"] = self.count
        return params

    def to_json(self) -> dict[str, Any]:
        """For the resume journal."""
        return {
            "count": self.count,
            "start_index": self.start_index,
            "cursor": self.cursor,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageRequest:
        """Inverse of :meth:`to_json`."""
        extra = tuple((str(k), str(v)) for k, v in data.get("extra") or ())
        return cls(int(data["count"]), data.get("start_index"), data.get("cursor"), extra)


@dataclass
class Page:
    """One ListResponse page as received."""

    resource: str
    request: PageRequest
    resources: list[dict[str, Any]]
    total_results: int | None
    items_per_page: int | None
    start_index: int | None
    next_cursor: str | None
    url: str
    body: bytes = b""
    elapsed: float = 0.0
    number: int = 0
    replayed: bool = False


def resource_ids(resources: list[Any]) -> list[Any]:
    """The ``id`` of each resource of a page (None for one that is not a JSON object)."""
    if set(map(type, resources)) == {dict}:
        return list(map(dict.get, resources, repeat("id")))
    return [r.get("id") if isinstance(r, dict) else None for r in resources]


def _int(value: Any, name: str, url: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ScimError(f"ListResponse {name} is a boolean", url=url)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ScimError(f"ListResponse {name} is not a whole number: {value!r}", url=url)


def parse_list_response(
    value: Any,
    *,
    resource: str,
    request: PageRequest,
    url: str,
    body: bytes = b"",
    elapsed: float = 0.0,
) -> Page:
    """Check a parsed body is a SCIM ListResponse and turn it into a :class:`Page`."""
    if not isinstance(value, dict):
        kind = "an empty body" if value is None else f"a JSON {type(value).__name__}"
        raise ScimError(f"expected a SCIM ListResponse, got {kind}", url=url)
    schemas = value.get("schemas")
    is_list = (isinstance(schemas, list) and LIST_RESPONSE in schemas) or "Resources" in value
    if not is_list and "totalResults" not in value:
        raise ScimError(
            "expected a SCIM ListResponse (no Resources, totalResults or ListResponse schema)", url=url
        )
    resources = value.get("Resources")
    if resources is None:
        resources = []
    if not isinstance(resources, list):
        raise ScimError(f"ListResponse Resources is a {type(resources).__name__}, not a list", url=url)
    next_cursor = value.get("nextCursor")
    return Page(
        resource=resource,
        request=request,
        resources=resources,
        total_results=_int(value.get("totalResults"), "totalResults", url),
        items_per_page=_int(value.get("itemsPerPage"), "itemsPerPage", url),
        start_index=_int(value.get("startIndex"), "startIndex", url),
        next_cursor=str(next_cursor) if next_cursor not in (None, "") else None,
        url=url,
        body=body,
        elapsed=elapsed,
    )
