"""Build small exports from SCIM resource dicts, the way extraction and the simulator do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recon.engine import open_session
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA, normalise
from recon.extract.writer import ExportWriter
from recon.schemas import GROUPS, MEMBERSHIPS, USERS
from recon.store import ExportRef, Manifest, Store, atomic_write_json

CYCLE = "20260105T020000Z"


def user(
    id: str,
    user_name: str | None = None,
    *,
    external_id: str | None = None,
    active: bool | None = True,
    given: str | None = None,
    family: str | None = None,
    emails: Sequence[dict[str, Any]] | None = None,
    title: str | None = None,
    department: str | None = None,
    manager: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A SCIM User resource; ``None`` leaves an attribute out."""
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": id}
    if user_name is not None:
        resource["userName"] = user_name
    if external_id is not None:
        resource["externalId"] = external_id
    if active is not None:
        resource["active"] = active
    name = {k: v for k, v in (("givenName", given), ("familyName", family)) if v is not None}
    if name:
        resource["name"] = name
    if emails is not None:
        resource["emails"] = list(emails)
    if title is not None:
        resource["title"] = title
    enterprise: dict[str, Any] = {}
    if department is not None:
        enterprise["department"] = department
    if manager is not None:
        enterprise["manager"] = {"value": manager}
    if enterprise:
        resource[ENTERPRISE_USER] = enterprise
        resource["schemas"].append(ENTERPRISE_USER)
    resource.update(extra)
    return resource


def group(
    id: str,
    display_name: str | None,
    members: Iterable[str | tuple[str, str | None]] = (),
    *,
    external_id: str | None = None,
) -> dict[str, Any]:
    """A SCIM Group; a member is an id (a User) or ``(id, type)`` (type may be None)."""
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": id}
    if display_name is not None:
        resource["displayName"] = display_name
    if external_id is not None:
        resource["externalId"] = external_id
    rows = []
    for member in members:
        value, kind = (member, "User") if isinstance(member, str) else member
        rows.append({"value": value, **({"type": kind} if kind else {})})
    resource["members"] = rows
    return resource


def write_export(
    store: Store,
    system: str,
    resources: Iterable[dict[str, Any]],
    *,
    cycle: str = CYCLE,
    status: str = "complete",
    fast: bool = True,
) -> ExportRef:
    """Write a full export of ``system`` at ``cycle`` from SCIM resources through ``normalise``.

    ``fast`` writes the normalised rows straight to Parquet (ids must be unique, as in these
    tests); otherwise the rows go through ExportWriter as in extraction.
    """
    ref = store.export(system, cycle, "full")
    manifest = Manifest(system=system, cycle=cycle, kind="full", status=status)  # type: ignore[arg-type]
    with store.publishing(ref.path) as staging:
        if fast:
            tables: dict[str, list[dict[str, Any]]] = {"users": [], "groups": [], "memberships": []}
            for resource in resources:
                normalised = normalise(resource)
                tables["users" if normalised.resource_type == "User" else "groups"].append(normalised.row)
                tables["memberships"].extend(normalised.memberships)
            for name, schema in (("users", USERS), ("groups", GROUPS), ("memberships", MEMBERSHIPS)):
                pq.write_table(pa.Table.from_pylist(tables[name], schema=schema), staging / f"{name}.parquet")
            atomic_write_json(staging / "manifest.json", manifest.to_json())
        else:
            con = open_session()
            writer = ExportWriter(staging)
            for resource in resources:
                writer.add(normalise(resource))
            writer.finish(con, manifest)
            con.close()
    return ref
