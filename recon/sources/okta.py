"""Okta through its Management API: users (leavers included), groups, members, app assignments.

Requests (Okta Management API reference):

- ``GET /api/v1/users?limit=200``, following ``Link: <…>; rel="next"`` until absent. Listing
  users without ``filter`` or ``search`` leaves out DEPROVISIONED users (listUsers), and an
  audit needs its leavers, so a full export also lists
  ``filter=status eq "DEPROVISIONED"``, read alongside and merged by id; ids seen twice (a user
  deactivated between the two listings) are dropped by the writer and counted in the manifest;
- ``GET /api/v1/groups`` and ``GET /api/v1/groups/{id}/users`` (members; Okta groups do not nest);
- the app's assignments: ``GET /api/v1/apps/{appId}/users`` (every assigned user, directly
  or through a group; their profile is what Okta sends to the app over SCIM) and
  ``GET /api/v1/apps/{appId}/groups``; exported as the ``assignment_group`` group (id
  ``app-assignment:<appId>``) whose members are the assigned users;
- incremental: ``filter=lastUpdated gt "…"`` on users and
  ``filter=lastUpdated gt "…" or lastMembershipUpdated gt "…"`` on groups; the manifest
  records it as the SCIM filter ``meta.lastModified gt "…"`` with the watermark.
- rate limits: ``X-Rate-Limit-*`` headers and 429 (see :mod:`recon.sources.http`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from recon.config.providers import OktaSettings
from recon.errors import ScimError
from recon.schemas import assignment_group_id
from recon.sources.http import ProviderClient
from recon.sources.mapping import Mapping

__all__ = ["OktaCrawl", "okta_time"]


def _next_link(response: httpx.Response, body: Any) -> str | None:
    link = response.links.get("next", {}).get("url")
    return link if isinstance(link, str) and link else None


def okta_time(iso: str) -> str:
    """An ISO UTC time as Okta's filters take it (``2026-01-05T02:00:00.000Z``)."""
    text = iso.replace("+00:00", "Z")
    if "." not in text:
        text = text[:-1] + ".000Z" if text.endswith("Z") else text + ".000Z"
    return text


def _group_modified(group: dict[str, Any]) -> str | None:
    stamps = [s for s in (group.get("lastUpdated"), group.get("lastMembershipUpdated")) if isinstance(s, str)]
    return max(stamps) if stamps else None


class OktaCrawl:
    """One export of an Okta org; iterate :meth:`full` or :meth:`since` for SCIM resources."""

    def __init__(
        self, client: ProviderClient, settings: OktaSettings, mapping: Mapping, page_size: int
    ) -> None:
        self.client = client
        self.settings = settings
        self.mapping = mapping
        self.limit = max(1, min(page_size, 200))
        self.pages = 0
        self.received = {"Users": 0, "Groups": 0}
        self.notes: list[tuple[str, str]] = []
        self.assignment: dict[str, Any] = {}
        self.sent: dict[str, dict[str, str]] = {}
        self.groups_too = True  # False: --resources Users (no groups, no app-assignment group)
        self.extra_groups = 0  # groups recon adds (the app-assignment group)

    def _list(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for response, body in self.client.pages(path, params, _next_link):
            self.pages += 1
            if not isinstance(body, list):
                raise ScimError("Okta answered with something other than a JSON array", url=str(response.url))
            yield from (item for item in body if isinstance(item, dict))

    def _users(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for user in self._list("/api/v1/users", {**params, "limit": str(self.limit)}):
            self.received["Users"] += 1
            yield self.mapping.user(user, user.get("created"), user.get("lastUpdated"))

    def _groups(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for group in self._list("/api/v1/groups", {**params, "limit": str(max(self.limit, 200))}):
            self.received["Groups"] += 1
            gid = quote(str(group.get("id")), safe="")
            members = [
                {"value": user.get("id"), "type": "User"}
                for user in self._list(f"/api/v1/groups/{gid}/users", {"limit": "1000"})
            ]
            yield self.mapping.group(group, members, group.get("created"), _group_modified(group))

    def full(self) -> Iterator[dict[str, Any]]:
        """Every user (DEPROVISIONED included), group and the app-assignment group."""
        self.sent = {
            "users": {},
            "users_deprovisioned": {"filter": 'status eq "DEPROVISIONED"'},
            "groups": {},
        }
        population = self._population() if self.settings.app_id and self.groups_too else None
        # Both listings come in id order: merged as they arrive, the users stay in id order and go
        # straight to users.parquet (nothing to sort at the end; memory stays flat). Were they in
        # another order, the writer would notice and sort them.
        yield from heapq.merge(
            self._users({}),
            self._users({"filter": 'status eq "DEPROVISIONED"'}),
            key=lambda user: str(user.get("id")),
        )
        if self.groups_too:
            yield from self._groups({})
        if population is not None:
            self.extra_groups += 1
            yield self.assignment_resource(population)

    def since(self, watermark: str) -> Iterator[dict[str, Any]]:
        """Users and groups updated after ``watermark`` (ISO UTC)."""
        when = okta_time(watermark)
        users = {"filter": f'lastUpdated gt "{when}"'}
        groups = {"filter": f'lastUpdated gt "{when}" or lastMembershipUpdated gt "{when}"'}
        self.sent = {"users": users, "groups": groups}
        yield from self._users(users)
        if self.groups_too:
            yield from self._groups(groups)

    def _population(self) -> list[str]:
        app_id = quote(self.settings.app_id or "", safe="")
        users = sorted(
            {str(u.get("id")) for u in self._list(f"/api/v1/apps/{app_id}/users", {"limit": "500"})}
        )
        groups = sorted(
            {str(g.get("id")) for g in self._list(f"/api/v1/apps/{app_id}/groups", {"limit": "200"})}
        )
        self.assignment = {
            "appId": self.settings.app_id,
            "assignedGroups": groups,
            "assignedUsers": len(users),
        }
        return users

    def assignment_resource(self, population: list[str]) -> dict[str, Any]:
        """The app-assignment group (its members: the users assigned to the app)."""
        app_id = self.settings.app_id or ""
        obj = {"id": assignment_group_id(app_id), "profile": {"name": self.settings.assignment_group}}
        members = [{"value": user, "type": "User"} for user in population]
        # recon's group, not Okta's: its meta.lastModified is when recon read the assignments, so
        # recon deltas does not hold Okta's lastUpdated filter to it (a delta export carries it
        # exactly when its members changed)
        read_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return self.mapping.group(obj, members, None, read_at, {"appAssignment": self.assignment})
