"""Microsoft Entra ID through Microsoft Graph v1.0: users, groups, members, managers, app assignments.

Requests (Graph v1.0 reference):

- ``GET /users?$select=…&$top=999&$expand=manager($select=id)`` and
  ``GET /groups?$select=…&$top=999``, following ``@odata.nextLink`` until it is absent;
- ``GET /groups/{id}/members?$select=id&$top=999`` (direct members) or ``/transitiveMembers``
  (``transitive_members = true``); a member's ``@odata.type`` tells a user from a group;
- the app's assignments: ``GET /servicePrincipals(appId='…')`` then
  ``GET /servicePrincipals/{id}/appRoleAssignedTo`` (principals of type User, Group,
  ServicePrincipal). The **expected population** of the app is every user assigned directly
  plus every *direct* user member of an assigned group (Entra does not extend an assignment
  to nested groups). It is exported as one extra group, ``assignment_group`` (default
  ``app-assignment``, id ``app-assignment:<appId>``), whose members are those users, so
  ``scope_groups = ["app-assignment"]`` in ``[reconcile.<entra>.<app>]`` scopes a target
  to it;
- the provider's counts: ``GET /users/$count`` and ``/groups/$count`` with ``ConsistencyLevel:
  eventual`` right before the listing (:mod:`recon.sources.counts`);
- delta queries: before a full crawl ``GET /users/delta?$deltatoken=latest`` (and groups)
  returns a delta link without the initial data; it is stored in the manifest's
  ``origin.delta_links`` and a later ``recon extract --since <that cycle>`` follows it:
  changed and created objects, ``@removed`` entries (``reason`` ``changed``: soft-deleted,
  ``deleted``: gone), ``members@delta`` on groups, and a new ``@odata.deltaLink`` for the
  round after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from recon.config.providers import EntraSettings
from recon.errors import ScimError
from recon.schemas import assignment_group_id
from recon.sources.http import ProviderClient
from recon.sources.mapping import REMOVED, Mapping

__all__ = ["EntraCrawl"]

_TYPES = {"#microsoft.graph.user": "User", "#microsoft.graph.group": "Group"}


def _next_link(response: httpx.Response, body: Any) -> str | None:
    link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    return link if isinstance(link, str) else None


def _items(body: Any, url: str) -> list[dict[str, Any]]:
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, list):
        raise ScimError("Graph answered without a 'value' array", url=url)
    return [item for item in value if isinstance(item, dict)]


class EntraCrawl:
    """One export of an Entra tenant; iterate :meth:`full` or :meth:`delta` for SCIM resources."""

    def __init__(
        self, client: ProviderClient, settings: EntraSettings, mapping: Mapping, page_size: int
    ) -> None:
        self.client = client
        self.settings = settings
        self.mapping = mapping
        self.top = max(1, min(page_size, 999))
        self.pages = 0
        self.received = {"Users": 0, "Groups": 0}
        self.delta_links: dict[str, str] = {}
        self.notes: list[tuple[str, str]] = []
        self.assignment: dict[str, Any] = {}
        self.groups_too = True  # False: --resources Users (no groups, no app-assignment group)
        self.counted: dict[str, int | None] = {}  # the provider's own counts, before a full listing
        self.extra_groups = 0  # groups recon adds (the app-assignment group)

    # -- paging ----------------------------------------------------------------------------
    def _list(self, url: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        for response, body in self.client.pages(url, params, _next_link):
            self.pages += 1
            yield from _items(body, str(response.url))

    def _delta(self, url: str, params: dict[str, Any] | None, resource: str) -> Iterator[dict[str, Any]]:
        """A delta round: items until ``@odata.deltaLink``, which is kept for the next round."""
        for response, body in self.client.pages(url, params, _next_link):
            self.pages += 1
            yield from _items(body, str(response.url))
            link = body.get("@odata.deltaLink") if isinstance(body, dict) else None
            if isinstance(link, str):
                self.delta_links[resource] = link
        if resource not in self.delta_links:
            raise ScimError(f"the {resource} delta round ended without an @odata.deltaLink", url=url)

    # -- full ------------------------------------------------------------------------------
    def full(self) -> Iterator[dict[str, Any]]:
        """Users, groups (with members) and the app-assignment group, as SCIM resources."""
        select_users = ",".join(self.mapping.user_select())
        select_groups = ",".join(self.mapping.group_select())
        # The delta links first: a change during the crawl shows in the next round at worst twice.
        for resource, select in (("users", select_users), ("groups", select_groups)):
            for _ in self._delta(
                f"/{resource}/delta", {"$select": select, "$deltatoken": "latest"}, resource
            ):
                pass
        self.counted = self._counts()
        population = self._population() if self.settings.app_id and self.groups_too else None
        params = {"$select": select_users, "$top": str(self.top), "$expand": "manager($select=id)"}
        for user in self._list("/users", params):
            self.received["Users"] += 1
            yield self._user(user)
        if not self.groups_too:
            return
        members_path = "transitiveMembers" if self.settings.transitive_members else "members"
        for group in self._list("/groups", {"$select": select_groups, "$top": str(self.top)}):
            self.received["Groups"] += 1
            members = self._members(str(group.get("id")), members_path)
            yield self.mapping.group(group, members, group.get("createdDateTime"), None)
        if population is not None:
            self.extra_groups += 1
            yield self.assignment_resource(population)

    def _counts(self) -> dict[str, int | None]:
        """Graph's own counts (``/users/$count``, ``/groups/$count``; None where Graph gives none)."""
        counted: dict[str, int | None] = {}
        for resource, path in (("Users", "/users/$count"), ("Groups", "/groups/$count")):
            if resource == "Groups" and not self.groups_too:
                continue
            try:
                text = self.client.get_text(path, None, headers={"ConsistencyLevel": "eventual"})
            except ScimError as exc:
                if exc.status in (401, 403):
                    raise
                text = ""
                self.notes.append(("provider_count_unavailable", f"{path}: {exc}"))
            if text and not (text.isascii() and text.isdigit() and len(text) <= 12):
                self.notes.append(("provider_count_unavailable", f"{path}: not a count: {text[:40]!r}"))
            counted[resource] = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
        return counted

    def _user(self, user: dict[str, Any]) -> dict[str, Any]:
        manager = user.get("manager")
        if isinstance(manager, dict):
            user = {**user, "manager": manager.get("id")}
        return self.mapping.user(user, user.get("createdDateTime"), None)

    def _members(self, group_id: str, path: str) -> list[dict[str, Any]]:
        members = []
        url = f"/groups/{quote(group_id, safe='')}/{path}"
        for member in self._list(url, {"$select": "id", "$top": str(self.top)}):
            members.append({"value": member.get("id"), "type": _TYPES.get(str(member.get("@odata.type")))})
        return members

    # -- app assignments -------------------------------------------------------------------
    def _population(self) -> list[str]:
        """Users assigned to the app directly or as direct members of an assigned group."""
        app_id = self.settings.app_id
        assert app_id is not None
        _, sp = self.client.get(
            f"/servicePrincipals(appId='{quote(app_id, safe='')}')", {"$select": "id,appId,displayName"}
        )
        if not isinstance(sp, dict) or not sp.get("id"):
            raise ScimError(f"no service principal for appId {app_id}", url="/servicePrincipals")
        users: set[str] = set()
        groups: set[str] = set()
        others = 0
        for grant in self._list(
            f"/servicePrincipals/{quote(str(sp['id']), safe='')}/appRoleAssignedTo", {"$top": str(self.top)}
        ):
            principal, kind = str(grant.get("principalId")), grant.get("principalType")
            if kind == "User":
                users.add(principal)
            elif kind == "Group":
                groups.add(principal)
            else:
                others += 1
        direct = len(users)
        for group_id in sorted(groups):
            for member in self._members(group_id, "members"):
                if member["type"] == "User":
                    users.add(str(member["value"]))
        self.assignment = {
            "servicePrincipalId": sp["id"],
            "appId": app_id,
            "appDisplayName": sp.get("displayName"),
            "assignedGroups": sorted(groups),
            "directlyAssignedUsers": direct,
            "otherPrincipals": others,
        }
        return sorted(users)

    def assignment_resource(self, population: list[str]) -> dict[str, Any]:
        """The app-assignment group (its members: the expected population)."""
        app_id = self.settings.app_id or ""
        obj = {"id": assignment_group_id(app_id), "displayName": self.settings.assignment_group}
        members = [{"value": user, "type": "User"} for user in population]
        return self.mapping.group(obj, members, None, None, {"appAssignment": self.assignment})

    # -- delta -----------------------------------------------------------------------------
    def delta(self, links: dict[str, str]) -> Iterator[dict[str, Any]]:
        """One delta round from the stored links: changed, created and removed objects."""
        for resource in ("users", "groups"):
            if resource not in links:
                raise ScimError(f"the base export has no {resource} delta link")
        for user in self._delta(links["users"], None, "users"):
            self.received["Users"] += 1
            if REMOVED in user:
                yield self._tombstone(user, "User")
            else:
                yield self._user(user)
        if not self.groups_too:  # the groups round is left for later: its link is passed on unused
            self.delta_links["groups"] = links["groups"]
            return
        # A group may come back in several pieces (members@delta split across pages): merged by id.
        merged: dict[str, dict[str, Any]] = {}
        for group in self._delta(links["groups"], None, "groups"):
            gid = str(group.get("id"))
            into = merged.setdefault(gid, {"id": gid, "members@delta": []})
            for key, value in group.items():
                if key == "members@delta" and isinstance(value, list):
                    into["members@delta"].extend(value)
                else:
                    into[key] = value
        for gid in sorted(merged):
            group = merged[gid]
            self.received["Groups"] += 1
            if REMOVED in group:
                yield self._tombstone(group, "Group")
                continue
            changes = group.pop("members@delta")
            added = [
                {"value": m.get("id"), "type": _TYPES.get(str(m.get("@odata.type")))}
                for m in changes
                if REMOVED not in m
            ]
            removed = [m.get("id") for m in changes if REMOVED in m]
            extra = {"membersAdded": len(added), "membersRemoved": removed} if changes else {}
            yield self.mapping.group(group, added, group.get("createdDateTime"), None, extra)

    def _tombstone(self, obj: dict[str, Any], resource_type: str) -> dict[str, Any]:
        """A removed object as a SCIM resource: its id and, under the extension, Graph's @removed."""
        if resource_type == "User":
            return self.mapping.user({"id": obj.get("id"), REMOVED: obj[REMOVED]}, None, None)
        return self.mapping.group({"id": obj.get("id"), REMOVED: obj[REMOVED]}, [], None, None)
