"""Simulator data as an identity provider's directory, rendered as Graph and Okta objects.

``Directory.from_export(store, "idp", cycle)`` reads the simulator's IdP export (SCIM
resources in ``raw``). The renderers are the inverse of the providers' default SCIM
mappings as the providers document them (written here independently of
:mod:`recon.sources.mapping`, so a round trip through recon tests that module):

- Graph user: ``userPrincipalName`` (userName), ``accountEnabled`` (active), ``givenName``,
  ``surname``, ``displayName``, ``mail`` (work email), ``otherMails`` (other emails),
  ``jobTitle``, ``department``, ``employeeId``, ``mailNickname``, ``createdDateTime`` and the
  ``manager`` relationship;
- Okta user and group: :mod:`recon.simulate.okta_pages` (the demo serves the same rendering):
  ``status`` (ACTIVE, or DEPROVISIONED when inactive), ``created``, ``lastUpdated``
  (meta.lastModified), ``profile`` (login, email, secondEmail, firstName, lastName,
  displayName, title, department, employeeNumber, managerId, userType).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq

from recon.simulate.okta_pages import okta_group, okta_user
from recon.store import Store

__all__ = ["Directory", "graph_group", "graph_user", "okta_group", "okta_user"]

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Directory:
    """Users and groups (SCIM dicts, by id) and an app's assignments."""

    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    assigned_users: list[str] = field(default_factory=list)
    assigned_groups: list[str] = field(default_factory=list)

    @classmethod
    def from_export(cls, store: Store, system: str, cycle: str) -> Directory:
        ref = store.export(system, cycle, "full")
        users = {
            row["id"]: json.loads(row["raw"])
            for row in pq.read_table(ref.table("users"), columns=["id", "raw"]).to_pylist()
        }
        groups = {
            row["id"]: json.loads(row["raw"])
            for row in pq.read_table(ref.table("groups"), columns=["id", "raw"]).to_pylist()
        }
        return cls(users, groups)

    def assign(self, users: int, groups: int) -> None:
        """Assign the app to the first ``users`` users and ``groups`` groups (by id order)."""
        self.assigned_users = sorted(self.users)[:users]
        self.assigned_groups = sorted(self.groups)[:groups]

    def expected_population(self, nested: bool = False) -> set[str]:
        """Users assigned directly or as direct user members of an assigned group."""
        found = set(self.assigned_users)
        for gid in self.assigned_groups:
            for member in self.groups.get(gid, {}).get("members") or []:
                if member.get("value") in self.users:
                    found.add(member["value"])
        return found

    def members(self, gid: str) -> list[dict[str, Any]]:
        return list(self.groups[gid].get("members") or [])


def _work_email(user: dict[str, Any]) -> str | None:
    for email in user.get("emails") or []:
        if email.get("type") == "work":
            return str(email.get("value"))
    return None


def _other_emails(user: dict[str, Any]) -> list[str]:
    return [str(e.get("value")) for e in user.get("emails") or [] if e.get("type") != "work"]


def graph_user(user: dict[str, Any]) -> dict[str, Any]:
    """A Graph v1.0 user resource (the properties recon's default mapping selects and more)."""
    ent = user.get(ENT) or {}
    name = user.get("name") or {}
    manager = (ent.get("manager") or {}).get("value")
    return {
        "id": user["id"],
        "userPrincipalName": user.get("userName"),
        "accountEnabled": user.get("active"),
        "displayName": user.get("displayName"),
        "givenName": name.get("givenName"),
        "surname": name.get("familyName"),
        "mail": _work_email(user),
        "otherMails": _other_emails(user),
        "jobTitle": user.get("title"),
        "department": ent.get("department"),
        "employeeId": ent.get("employeeNumber"),
        "mailNickname": str(user.get("userName") or "").split("@")[0] or None,
        "userType": user.get("userType"),
        "createdDateTime": (user.get("meta") or {}).get("created"),
        "_manager": manager,  # the relationship, served through $expand=manager
    }


def graph_group(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": group["id"],
        "displayName": group.get("displayName"),
        "mailNickname": group.get("displayName"),
        "securityEnabled": True,
        "mailEnabled": False,
        "groupTypes": [],
        "createdDateTime": (group.get("meta") or {}).get("created"),
    }
