"""The simulator's IdP as an identity provider holds it: users and groups by id, and one app's
assignments. What the Graph pages (:mod:`recon.simulate.graph_pages`) and the tests' provider
fakes (tests/sources) serve."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq

from recon.store import Store

__all__ = ["Directory"]


@dataclass
class Directory:
    """Users and groups (SCIM dicts, by id) and an app's assignments."""

    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    assigned_users: list[str] = field(default_factory=list)
    assigned_groups: list[str] = field(default_factory=list)

    @classmethod
    def from_export(cls, store: Store, system: str, cycle: str) -> Directory:
        """The full export of ``system`` at ``cycle`` (its ``raw`` resources)."""
        ref = store.export(system, cycle, "full")
        users = {
            str(row["id"]): json.loads(row["raw"])
            for row in pq.read_table(ref.table("users"), columns=["id", "raw"]).to_pylist()
        }
        groups = {
            str(row["id"]): json.loads(row["raw"])
            for row in pq.read_table(ref.table("groups"), columns=["id", "raw"]).to_pylist()
        }
        return cls(users, groups)

    def assign(self, users: int, groups: int) -> None:
        """Assign the app to the first ``users`` users and ``groups`` groups (by id order)."""
        self.assigned_users = sorted(self.users)[:users]
        self.assigned_groups = sorted(self.groups)[:groups]

    def expected_population(self) -> set[str]:
        """Users assigned directly or as direct user members of an assigned group."""
        found = set(self.assigned_users)
        for gid in self.assigned_groups:
            for member in self.groups.get(gid, {}).get("members") or []:
                if member.get("value") in self.users:
                    found.add(member["value"])
        return found

    def members(self, gid: str) -> list[dict[str, Any]]:
        """The group's ``members`` as the SCIM export has them."""
        return list(self.groups[gid].get("members") or [])
