"""A deliberately non-conforming SCIM server on httpx.MockTransport.

It answers filters with recon's own evaluator but breaks the RFC the way real servers do,
each deviation switchable: userName compared case-sensitively, ``not (...)`` ignored (the
inner filter answered), any filter on ``active`` answering nothing, pages silently capped
below the advertised maxPageSize, a past-the-end page that repeats the first page, and the
``cursor`` parameter ignored. A real scim2-server cannot be made to do any of these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from recon.errors import FilterSyntaxError
from recon.scim.filter import (
    DEFAULT_CATALOG,
    And,
    Compare,
    Filter,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
    matches,
    parse,
)

U = "urn:ietf:params:scim:schemas:core:2.0:User"
G = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CASE_SENSITIVE = DEFAULT_CATALOG.with_advertised({U: {"userName": {"type": "string", "caseExact": True}}})


def users(n: int) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [U],
            "id": f"id-{i:04d}",
            "userName": f"Person{i:04d}@Corp.example",
            "active": i % 5 != 0,
            "title": f"Role {i % 3}" if i % 2 else None,
            "emails": [{"value": f"person{i:04d}@corp.example", "type": "work", "primary": True}],
            "meta": {"resourceType": "User", "lastModified": f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"},
        }
        for i in range(n)
    ]


def groups(n: int) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [G],
            "id": f"gid-{j}",
            "displayName": f"Team-{j}",
            "members": [{"value": "id-0001", "type": "User"}],
        }
        for j in range(n)
    ]


def _strip_not(node: Node) -> Node:
    if isinstance(node, Not):
        return _strip_not(node.term)
    if isinstance(node, And | Or):
        return type(node)(tuple(_strip_not(t) for t in node.terms))
    if isinstance(node, ValuePath):
        return ValuePath(node.path, _strip_not(node.inner))
    return node


def _mentions_active(node: Node) -> bool:
    if isinstance(node, Compare | Present):
        return node.path.attr.lower() == "active"
    if isinstance(node, Not):
        return _mentions_active(node.term)
    if isinstance(node, And | Or):
        return any(_mentions_active(t) for t in node.terms)
    return isinstance(node, ValuePath) and _mentions_active(node.inner)


@dataclass
class NonConformingServer:
    """The resources it serves and its deviations (all on by default)."""

    users: list[dict[str, Any]] = field(default_factory=lambda: users(300))
    groups: list[dict[str, Any]] = field(default_factory=lambda: groups(3))
    case_sensitive_user_name: bool = True
    ignore_not: bool = True
    active_finds_nothing: bool = True
    advertised_max_page: int = 200
    real_max_page: int = 50
    repeat_first_page_past_the_end: bool = True
    requests: list[str] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        path = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if path == "ServiceProviderConfig":
            return self.json(
                200,
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": True},
                    "bulk": {"supported": False},
                    "filter": {"supported": True, "maxResults": 1000},
                    "sort": {"supported": False},
                    "etag": {"supported": False},
                    "changePassword": {"supported": False},
                    "pagination": {"index": True, "cursor": False, "maxPageSize": self.advertised_max_page},
                },
            )
        if path in ("Users", "Groups"):
            return self.list(request, self.users if path == "Users" else self.groups, path[:-1])
        return self.json(404, {"schemas": [ERROR], "status": "404", "detail": "not found"})

    def json(self, status: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(body), headers={"Content-Type": "application/scim+json"}
        )

    def evaluate(self, flt: Filter, resource: dict[str, Any], resource_type: str) -> bool:
        root = _strip_not(flt.root) if self.ignore_not else flt.root
        if self.active_finds_nothing and _mentions_active(root):
            return False
        catalog = CASE_SENSITIVE if self.case_sensitive_user_name else None
        return matches(Filter(flt.text, root), resource, resource_type, catalog)

    def list(
        self, request: httpx.Request, resources: list[dict[str, Any]], resource_type: str
    ) -> httpx.Response:
        params = request.url.params
        selected = resources
        if "filter" in params:
            try:
                flt = parse(params["filter"])
                selected = [r for r in resources if self.evaluate(flt, r, resource_type)]
            except FilterSyntaxError as error:
                return self.json(
                    400,
                    {"schemas": [ERROR], "status": "400", "scimType": "invalidFilter", "detail": str(error)},
                )
        start = max(int(params.get("startIndex", 1)), 1)
        count = min(int(params.get("count", 100)), self.real_max_page)
        page = selected[start - 1 : start - 1 + count]
        if not page and start > len(selected) and self.repeat_first_page_past_the_end:
            page = selected[:count]
        return self.json(
            200,
            {
                "schemas": [LIST],
                "totalResults": len(selected),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": page,
            },
        )
