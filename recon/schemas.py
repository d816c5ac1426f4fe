"""The normalised tables of CONTRACT §3: their Arrow layout and pandera models.

``USERS``, ``GROUPS`` and ``MEMBERSHIPS`` are the physical Parquet schemas every writer
uses (import, live extraction, the simulator), so that files from any origin are
interchangeable. The pandera models check the data rules (ids present and unique,
UTC timestamps, member types) and :func:`validate_table` turns a failure into a
short, readable report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandera.polars as pa_pl
import polars as pl
import pyarrow as pa
from pandera.errors import SchemaErrors

__all__ = [
    "ASSIGNMENT_GROUP_PREFIX",
    "CONTENT_SHA256",
    "DELTA_FINDINGS",
    "FINDINGS",
    "GROUPS",
    "MEMBERSHIPS",
    "USERS",
    "GroupsModel",
    "MembershipsModel",
    "TableReport",
    "UsersModel",
    "arrow_schema",
    "assignment_group_id",
    "validate_table",
]

ASSIGNMENT_GROUP_PREFIX = "app-assignment:"
"""Ids of the groups an identity-provider export adds to hold an app's expected population (its
assigned users): a scope for ``scope_groups``, not a group provisioned to the app, so reconcile
never reports it as missing in a target."""


def assignment_group_id(app_id: str) -> str:
    """The id of the exported group that holds the expected population of the app ``app_id``."""
    return f"{ASSIGNMENT_GROUP_PREFIX}{app_id}"


_TS = pa.timestamp("us", tz="UTC")
EMAIL = pa.struct([("value", pa.string()), ("type", pa.string()), ("primary", pa.bool_())])

CONTENT_SHA256 = "content_sha256"
"""Users' and groups' content fingerprint column (CONTRACT §3): SHA-256 (32 bytes) of the resource
without ``meta`` (a group also without ``members``) as JSON with sorted keys, made by
:func:`recon.fingerprint.content_sha256`; null when ``raw`` is absent or not a JSON object, and
absent from exports written before it existed."""

USERS = pa.schema(
    [
        ("id", pa.string()),
        ("external_id", pa.string()),
        ("user_name", pa.string()),
        ("active", pa.bool_()),
        ("display_name", pa.string()),
        ("given_name", pa.string()),
        ("family_name", pa.string()),
        ("emails", pa.list_(EMAIL)),
        ("primary_email", pa.string()),
        ("employee_number", pa.string()),
        ("department", pa.string()),
        ("title", pa.string()),
        ("manager_id", pa.string()),
        ("user_type", pa.string()),
        ("created", _TS),
        ("last_modified", _TS),
        ("version", pa.string()),
        ("raw", pa.string()),
        (CONTENT_SHA256, pa.binary()),
    ]
)

GROUPS = pa.schema(
    [
        ("id", pa.string()),
        ("external_id", pa.string()),
        ("display_name", pa.string()),
        ("created", _TS),
        ("last_modified", _TS),
        ("version", pa.string()),
        ("raw", pa.string()),
        (CONTENT_SHA256, pa.binary()),
    ]
)

MEMBERSHIPS = pa.schema(
    [
        ("group_id", pa.string()),
        ("member_id", pa.string()),
        ("member_type", pa.string()),
    ]
)

# CONTRACT §4: one row per finding of a reconcile run (and of the simulator's truth).
FINDINGS = pa.schema(
    [
        (name, pa.string())
        for name in (
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
    ]
)
# CONTRACT §5: one row per kind per resource of a delta check (and of the simulator's truth).
DELTA_FINDINGS = pa.schema(
    [
        ("kind", pa.string()),
        ("resource_type", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("base_last_modified", _TS),
        ("head_last_modified", _TS),
        ("detail", pa.string()),
    ]
)

_ARROW = {"users": USERS, "groups": GROUPS, "memberships": MEMBERSHIPS}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``users``, ``groups`` or ``memberships``."""
    return _ARROW[table]


_UTC = pl.Datetime("us", "UTC")


class UsersModel(pa_pl.DataFrameModel):
    """users.parquet: one row per SCIM User."""

    id: str = pa_pl.Field(nullable=False, unique=True, str_length={"min_value": 1})
    external_id: str = pa_pl.Field(nullable=True)
    user_name: str = pa_pl.Field(nullable=True)
    active: bool = pa_pl.Field(nullable=True)
    display_name: str = pa_pl.Field(nullable=True)
    given_name: str = pa_pl.Field(nullable=True)
    family_name: str = pa_pl.Field(nullable=True)
    primary_email: str = pa_pl.Field(nullable=True)
    employee_number: str = pa_pl.Field(nullable=True)
    department: str = pa_pl.Field(nullable=True)
    title: str = pa_pl.Field(nullable=True)
    manager_id: str = pa_pl.Field(nullable=True)
    user_type: str = pa_pl.Field(nullable=True)
    created: _UTC = pa_pl.Field(nullable=True)  # type: ignore[valid-type]
    last_modified: _UTC = pa_pl.Field(nullable=True)  # type: ignore[valid-type]
    version: str = pa_pl.Field(nullable=True)
    raw: str = pa_pl.Field(nullable=False)
    content_sha256: Optional[bytes] = pa_pl.Field(nullable=True)  # noqa: UP045 - pandera: absent in older exports

    class Config:
        strict = False  # emails (a list of structs) is checked by the Arrow schema


class GroupsModel(pa_pl.DataFrameModel):
    """groups.parquet: one row per SCIM Group."""

    id: str = pa_pl.Field(nullable=False, unique=True, str_length={"min_value": 1})
    external_id: str = pa_pl.Field(nullable=True)
    display_name: str = pa_pl.Field(nullable=True)
    created: _UTC = pa_pl.Field(nullable=True)  # type: ignore[valid-type]
    last_modified: _UTC = pa_pl.Field(nullable=True)  # type: ignore[valid-type]
    version: str = pa_pl.Field(nullable=True)
    raw: str = pa_pl.Field(nullable=False)
    content_sha256: Optional[bytes] = pa_pl.Field(nullable=True)  # noqa: UP045 - pandera: absent in older exports

    class Config:
        strict = True


class MembershipsModel(pa_pl.DataFrameModel):
    """memberships.parquet: one row per (group, direct member)."""

    group_id: str = pa_pl.Field(nullable=False)
    member_id: str = pa_pl.Field(nullable=False)
    member_type: str = pa_pl.Field(nullable=True, isin=["User", "Group"])

    class Config:
        strict = True
        unique = ["group_id", "member_id"]  # noqa: RUF012 - pandera reads a plain list


_MODELS: dict[str, type[pa_pl.DataFrameModel]] = {
    "users": UsersModel,
    "groups": GroupsModel,
    "memberships": MembershipsModel,
}


@dataclass(frozen=True)
class TableReport:
    """Outcome of validating one table: ``ok`` and, if not, up to 20 readable problems."""

    table: str
    rows: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_table(table: str, frame: pl.DataFrame) -> TableReport:
    """Check ``frame`` against the pandera model of ``table``; never raises on bad data."""
    model = _MODELS[table]
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        problems = []
        for row in cases.head(20).iter_rows(named=True):
            column = row.get("column") or "(table)"
            check = row.get("check")
            value = row.get("failure_case")
            problems.append(f"{table}.{column}: {check} failed for {value!r}")
        return TableReport(table, frame.height, tuple(problems))
    return TableReport(table, frame.height, ())
