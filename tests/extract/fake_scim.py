"""An ``httpx.MockTransport`` SCIM server for faults a real server cannot produce.

``FakeScim(users=N)`` serves /Users and /Groups by index and cursor; hooks let a test replace
the answer to the n-th list request (``faults[n] = callable(request) -> Response | None``) or
change paging behaviour (``cap``, ``total_lie``, ``past_end``, ``omit_members``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from recon.capabilities import Capabilities
from recon.scim.client import ScimClient
from recon.scim.discovery import advertised_from

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
TOKEN = "s3cr3t-token-value"
BASE = "https://scim.example.test/v2"


def user(n: int) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "id": f"u{n:04d}",
        "userName": f"user{n}@example.com",
        "active": True,
        "meta": {"resourceType": "User", "lastModified": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"},
    }


def group(n: int, members: list[str]) -> dict[str, Any]:
    return {
        "schemas": [GROUP],
        "id": f"g{n:03d}",
        "displayName": f"group {n}",
        "members": [{"value": m, "type": "User"} for m in members],
        "meta": {"resourceType": "Group", "lastModified": "2026-01-01T00:00:00Z"},
    }


Fault = Callable[[httpx.Request], httpx.Response | None]


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/scim+json", **(headers or {})},
    )


@dataclass
class FakeScim:
    users: int = 25
    groups: int = 0
    cap: int | None = None  # silent page-size cap
    echo_count: bool = False  # itemsPerPage echoes the count asked (a lie)
    total_lie: int | None = None  # totalResults reported instead of the truth
    past_end: str = "empty"  # or "first_page"
    omit_members: bool = False
    endless_cursor: bool = False
    faults: dict[int, Fault] = field(default_factory=dict)  # by 1-based list request number
    list_requests: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        users = [user(n) for n in range(self.users)]
        groups = [group(n, [u["id"] for u in users[n :: max(self.groups, 1)]]) for n in range(self.groups)]
        self.data = {"Users": users, "Groups": groups}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return scim_json({"detail": "no"}, 401)
        path = request.url.path.removeprefix("/v2")
        if path in ("/Users", "/Groups"):
            self.list_requests += 1
            fault = self.faults.get(self.list_requests)
            if fault is not None:
                answer = fault(request)
                if answer is not None:
                    return answer
            return self._list(path[1:], request)
        if path.startswith("/Groups/"):
            rid = path.rsplit("/", 1)[1]
            found = [g for g in self.data["Groups"] if g["id"] == rid]
            return scim_json(found[0]) if found else scim_json({"detail": "not found"}, 404)
        return scim_json({"detail": "not found"}, 404)

    def _list(self, resource: str, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        items = self.data[resource]
        count = int(params.get("count", "100"))
        size = min(count, self.cap) if self.cap else count
        total = self.total_lie if self.total_lie is not None else len(items)
        if "cursor" in params:
            cursor = params["cursor"]
            offset = int(cursor) if cursor else 0
            if self.endless_cursor:
                chosen = [{**user(offset + i), "id": f"x{offset + i}"} for i in range(size)]
                return scim_json({"schemas": [LIST], "Resources": chosen, "nextCursor": str(offset + size)})
            chosen = items[offset : offset + size]
            body: dict[str, Any] = {"schemas": [LIST], "totalResults": total, "itemsPerPage": len(chosen)}
            if offset + size < len(items):
                body["nextCursor"] = str(offset + size)
        else:
            start = int(params.get("startIndex", "1"))
            chosen = items[start - 1 : start - 1 + size]
            if not chosen and self.past_end == "first_page":
                chosen = items[:size]
            body = {
                "schemas": [LIST],
                "totalResults": total,
                "itemsPerPage": count if self.echo_count else len(chosen),
                "startIndex": start,
            }
        if self.omit_members:
            chosen = [{k: v for k, v in item.items() if k != "members"} for item in chosen]
        body["Resources"] = chosen
        return scim_json(body)

    def client(self, sleeps: list[float] | None = None, **kwargs: Any) -> ScimClient:
        record = sleeps if sleeps is not None else []
        return ScimClient(
            BASE,
            TOKEN,
            transport=httpx.MockTransport(self.handler),
            sleep=record.append,
            rand=lambda: 0.5,
            **kwargs,
        )


def capabilities(
    *, cursor: bool = False, filter_supported: bool = False, max_page: int | None = None
) -> Capabilities:
    spc = {
        "filter": {"supported": filter_supported, "maxResults": 1000},
        "pagination": {"cursor": cursor, "index": True, "maxPageSize": max_page},
    }
    resource_types = [{"name": "User"}, {"name": "Group"}]
    return Capabilities(system="fake", base_url=BASE, advertised=advertised_from(spc, resource_types, [], []))
