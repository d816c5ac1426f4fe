"""The simulated IdP as Okta Management API pages, served on 127.0.0.1 (``recon demo --idp okta``).

The IdP's SCIM export (its ``raw`` resources) is rendered the way Okta's API returns the same
directory, following the Okta Management API reference:

- ``GET /api/v1/users``: Okta users (``status`` ACTIVE, or DEPROVISIONED for an inactive user;
  ``profile`` login, email, secondEmail, firstName, lastName, displayName, title, department,
  employeeNumber, managerId, userType; ``created``, ``lastUpdated``); without ``filter``
  DEPROVISIONED users are left out, ``filter=status eq "DEPROVISIONED"`` lists them;
- ``GET /api/v1/groups`` and ``/api/v1/groups/{id}/users`` (Okta groups hold users only: a
  nested group of the simulator is not a member);
- paging by ``limit`` (users at most 200) and ``Link: <…?after=<last id>>; rel="next"``;
- ``Authorization: SSWS <token>``, 401 ``E0000011`` otherwise.

Renderers are shared with the tests' Okta fake (tests/sources), which adds rate limits, OAuth
service apps, app assignments and ``lastUpdated`` filters.
"""

from __future__ import annotations

import bisect
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pyarrow.parquet as pq

from recon.simulate.json_handler import POLL_SECONDS, JsonHandler
from recon.store import Store

__all__ = ["OktaPages", "okta_group", "okta_user", "serve_okta_pages"]

_ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _work_email(user: dict[str, Any]) -> str | None:
    for email in user.get("emails") or []:
        if isinstance(email, dict) and email.get("type") == "work":
            return str(email.get("value"))
    return None


def okta_user(user: dict[str, Any]) -> dict[str, Any]:
    """A SCIM User of the simulator as Okta's API returns a user."""
    ent = user.get(_ENT) or {}
    name = user.get("name") or {}
    meta = user.get("meta") or {}
    others = [str(e.get("value")) for e in user.get("emails") or [] if e.get("type") != "work"]
    return {
        "id": user["id"],
        "status": "ACTIVE" if user.get("active") else "DEPROVISIONED",
        "created": meta.get("created"),
        "activated": meta.get("created"),
        "statusChanged": None,
        "lastLogin": None,
        "lastUpdated": meta.get("lastModified"),
        "passwordChanged": None,
        "type": {"id": "oty0000000000000000"},
        "profile": {
            "login": user.get("userName"),
            "email": _work_email(user),
            "secondEmail": others[0] if others else None,
            "firstName": name.get("givenName"),
            "lastName": name.get("familyName"),
            "displayName": user.get("displayName"),
            "title": user.get("title"),
            "department": ent.get("department"),
            "employeeNumber": ent.get("employeeNumber"),
            "managerId": (ent.get("manager") or {}).get("value"),
            "userType": user.get("userType"),
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
    }


def okta_group(group: dict[str, Any]) -> dict[str, Any]:
    """A SCIM Group of the simulator as Okta's API returns a group."""
    meta = group.get("meta") or {}
    return {
        "id": group["id"],
        "created": meta.get("created"),
        "lastUpdated": meta.get("lastModified"),
        "lastMembershipUpdated": meta.get("lastModified"),
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": {"name": group.get("displayName"), "description": None},
    }


class _Directory:
    """The rendered lists, in id order, built once."""

    def __init__(self, store: Store, system: str, cycle: str) -> None:
        ref = store.export(system, cycle, "full")
        users = [
            json.loads(r)
            for r in pq.read_table(ref.table("users"), columns=["raw"]).column("raw").to_pylist()
        ]
        groups = [
            json.loads(r)
            for r in pq.read_table(ref.table("groups"), columns=["raw"]).column("raw").to_pylist()
        ]
        rendered = sorted((okta_user(u) for u in users), key=lambda u: str(u["id"]))
        ids = {str(u["id"]) for u in rendered}
        self.lists: dict[str, list[dict[str, Any]]] = {
            "users": [u for u in rendered if u["status"] != "DEPROVISIONED"],
            "users_deprovisioned": [u for u in rendered if u["status"] == "DEPROVISIONED"],
            "groups": sorted((okta_group(g) for g in groups), key=lambda g: str(g["id"])),
        }
        by_id = {str(u["id"]): u for u in rendered}
        for group in groups:
            members = sorted(
                str(m.get("value")) for m in group.get("members") or [] if str(m.get("value")) in ids
            )
            self.lists[f"members:{group['id']}"] = [by_id[m] for m in members]
        self.ids = {key: [str(item["id"]) for item in items] for key, items in self.lists.items()}


class _Handler(JsonHandler):
    directory: _Directory
    token: str
    base_url: str

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"SSWS {self.token}":
            return self._send(401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        flt = query.get("filter")
        if path == "/api/v1/users":
            key = (
                "users_deprovisioned"
                if flt == 'status eq "DEPROVISIONED"'
                else "users"
                if flt is None
                else ""
            )
            cap = 200
        elif path == "/api/v1/groups" and flt is None:
            key, cap = "groups", 10000
        elif path.startswith("/api/v1/groups/") and path.endswith("/users"):
            key, cap = f"members:{path.split('/')[4]}", 1000
        else:
            key, cap = "", 0
        if key not in self.directory.lists:
            return self._send(404, {"errorCode": "E0000007", "errorSummary": "Not found: " + path})
        limit = max(1, min(int(query.get("limit") or cap), cap))
        ids = self.directory.ids[key]
        start = bisect.bisect_right(ids, query["after"]) if "after" in query else 0
        page = self.directory.lists[key][start : start + limit]
        headers = {}
        if start + limit < len(ids):
            following = urlencode({**query, "limit": str(limit), "after": ids[start + limit - 1]})
            headers["Link"] = f'<{self.base_url}{path}?{following}>; rel="next"'
        self._send(200, page, headers)


@dataclass(frozen=True)
class OktaPages:
    """A running server: its base URL and the SSWS token it accepts."""

    base_url: str
    token: str


@contextmanager
def serve_okta_pages(store: Store, system: str, cycle: str) -> Iterator[OktaPages]:
    """Serve ``system``'s full export of ``cycle`` as Okta API pages on 127.0.0.1 (a thread)."""
    token = secrets.token_urlsafe(24)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    attributes = {"directory": _Directory(store, system, cycle), "token": token, "base_url": base_url}
    server.RequestHandlerClass = type("OktaHandler", (_Handler,), attributes)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield OktaPages(base_url, token)
    finally:
        server.shutdown()
        server.server_close()
