"""Build the normalised tables from SCIM resources and run compiled filters over them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from recon.engine import Session, Table, open_session
from recon.extract.normalize import normalise
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.scim.filter import CompiledFilter

U = "urn:ietf:params:scim:schemas:core:2.0:User"
G = "urn:ietf:params:scim:schemas:core:2.0:Group"
E = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Directory:
    """Users and groups bound on an engine session as ``filter_users`` and ``filter_groups``."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        users: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        for resource in resources:
            row = normalise(resource)
            if row.resource_type == "User":
                users.append(row.row)
            else:
                groups.append(row.row)
                memberships.extend(row.memberships)
        self.session: Session = open_session()
        self.users = self.session.bind(pa.Table.from_pylist(users, schema=USERS))
        self.groups: Table = self.session.run(
            "filter_groups_with_members",
            None,
            {
                "groups": pa.Table.from_pylist(groups, schema=GROUPS),
                "memberships": pa.Table.from_pylist(memberships, schema=MEMBERSHIPS),
            },
        )

    def ids(self, compiled: CompiledFilter) -> list[str]:
        rows = self.session.query(
            compiled.select_ids_sql(),
            compiled.params or None,
            {"filter_users": self.users, "filter_groups": self.groups},
        )
        return sorted(str(row[0]) for row in self.session.tuples(rows))


def user(uid: str, **attrs: Any) -> dict[str, Any]:
    return {"schemas": [U, E] if E in attrs else [U], "id": uid, **attrs}


def group(gid: str, **attrs: Any) -> dict[str, Any]:
    return {"schemas": [G], "id": gid, **attrs}
