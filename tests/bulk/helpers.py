"""Test helpers: write small exports into a store, build SCIM resources."""

from __future__ import annotations

from typing import Any

from recon.engine import open_session
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA, normalise
from recon.extract.writer import ExportWriter
from recon.store import ExportRef, Manifest, Store


def user(uid: str, user_name: str, **attrs: Any) -> dict[str, Any]:
    """A SCIM User; ``department=`` goes into the enterprise extension, ``version=`` into meta."""
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": uid, "userName": user_name}
    version = attrs.pop("version", None)
    department = attrs.pop("department", None)
    resource.update(attrs)
    if department is not None:
        resource["schemas"].append(ENTERPRISE_USER)
        resource[ENTERPRISE_USER] = {"department": department}
    if version is not None:
        resource["meta"] = {"resourceType": "User", "version": version}
    return resource


def group(gid: str, name: str, members: list[str] = (), **attrs: Any) -> dict[str, Any]:  # type: ignore[assignment]
    """A SCIM Group whose members are user ids (``g:<id>`` for a nested group)."""
    version = attrs.pop("version", None)
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": gid,
        "displayName": name,
        "members": [
            {"value": m[2:], "type": "Group"} if m.startswith("g:") else {"value": m, "type": "User"}
            for m in members
        ],
        **attrs,
    }
    if version is not None:
        resource["meta"] = {"resourceType": "Group", "version": version}
    return resource


def write_export(
    store: Store, system: str, cycle: str, resources: list[dict[str, Any]], started: str | None = None
) -> ExportRef:
    """Publish a complete full export of ``resources`` (through normalise + ExportWriter)."""
    ref = store.export(system, cycle)
    with store.publishing(ref.path) as staging:
        writer = ExportWriter(staging)
        for resource in resources:
            writer.add(normalise(resource))
        con = open_session()
        try:
            writer.finish(con, Manifest(system=system, cycle=cycle, kind="full", started=started))
        finally:
            con.close()
    return ref


FINDING_COLUMNS = (
    "kind",
    "severity",
    "source_id",
    "target_id",
    "user_name",
    "group_id",
    "target_group_id",
    "group_name",
    "attribute",
    "source_value",
    "target_value",
    "detail",
)


def write_findings(store: Store, source: str, target: str, cycle: str, rows: list[dict[str, Any]]) -> None:
    """A findings.parquet (CONTRACT §4 columns, all text) as reconcile would write it."""
    import polars as pl

    frame = pl.DataFrame(
        [{column: row.get(column) for column in FINDING_COLUMNS} for row in rows],
        schema={column: pl.String for column in FINDING_COLUMNS},
    )
    folder = store.findings_dir(source, target, cycle)
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "findings.parquet")
