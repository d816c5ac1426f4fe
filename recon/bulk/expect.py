"""What each bulk operation should make visible in the target's export.

An operation's effect is a list of :class:`Expectation` rows checked by
``sql/bulk_outcomes.sql`` against the export taken after the run:

- ``exists`` / ``absent``: the resource is (not) in the export (POST, PUT / DELETE);
- ``value``: a flattened column has the value sent (``user_name``, ``active``, …);
- ``member`` / ``not_member``: a membership row is (not) there (group PATCH add/remove, POST members).

Only attributes the export flattens can be checked; anything else the operation sets is
left out (an operation with nothing checkable is reported ``visible`` = null).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from recon.bulk.model import BULK_ID_PREFIX
from recon.bulk.records import OpRecord
from recon.scim_columns import ENTERPRISE_USER, PRIMARY_EMAIL, by_path

__all__ = ["Expectation", "Lookup", "expectations", "lookup"]

_ENTERPRISE = ENTERPRISE_USER.lower()
# SCIM path (lower case) -> flattened column of users.parquet / groups.parquet: the attributes
# an operation can set (recon/scim_columns.py), and the other spellings of manager and email
_USER_COLUMNS = {
    **by_path("User", writable=True),
    f"{_ENTERPRISE}:manager": "manager_id",
    "emails[primary eq true].value": PRIMARY_EMAIL,
    "emails": PRIMARY_EMAIL,
}
_GROUP_COLUMNS = by_path("Group", writable=True)
_CASE_EXACT = {"external_id", "active", "manager_id"}
_MEMBER_FILTER = re.compile(r'^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$', re.IGNORECASE)


@dataclass(frozen=True)
class Expectation:
    """One check of an operation's effect."""

    check: str  # exists | absent | value | member | not_member
    attribute: str | None = None
    expected: str | None = None
    case_exact: bool = True
    member_id: str | None = None


@dataclass(frozen=True)
class Lookup:
    """How to find the resource a POST meant to create when no location came back."""

    attribute: str  # user_name | display_name | external_id
    value: str
    case_exact: bool


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(column: str, value: Any) -> Expectation | None:
    if column == "primary_email":
        value = _primary_email(value)
    elif column == "manager_id" and isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, dict | list):
        return None
    text = _text(value)
    if text is not None and text.startswith(BULK_ID_PREFIX):
        return None  # an unresolved reference cannot be compared
    return Expectation("value", column, text, column in _CASE_EXACT)


def _primary_email(value: Any) -> Any:
    """The primary email as recon.extract.normalize picks it (primary, else work, else first)."""
    if not isinstance(value, list):
        return value
    emails = [item for item in value if isinstance(item, dict)]
    for email in emails:
        if email.get("primary") is True:
            return email.get("value")
    for email in emails:
        if str(email.get("type") or "").lower() == "work":
            return email.get("value")
    return emails[0].get("value") if emails else None


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """SCIM attribute paths (lower case) -> values, for a resource body or a PATCH value."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        lowered = key.lower()
        if lowered in ("schemas", "meta", "id"):
            continue
        if lowered.startswith("urn:") and isinstance(value, dict):
            for sub, sub_value in value.items():
                out[f"{lowered}:{sub.lower()}"] = sub_value
        elif lowered == "name" and isinstance(value, dict) and not prefix:
            for sub, sub_value in value.items():
                out[f"name.{sub.lower()}"] = sub_value
        else:
            out[prefix + lowered] = value
    return out


def _members(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(m["value"]) for m in value if isinstance(m, dict) and m.get("value") is not None]


def _resource_checks(resource_type: str, data: dict[str, Any]) -> list[Expectation]:
    columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
    checks = []
    for path, value in _flatten(data).items():
        column = columns.get(path)
        if column is not None and value is not None:
            expectation = _value(column, value)
            if expectation is not None:
                checks.append(expectation)
    if resource_type == "Group":
        checks += [Expectation("member", member_id=m) for m in _members(data.get("members"))]
    return checks


def _patch_checks(resource_type: str, data: dict[str, Any]) -> list[Expectation]:
    columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
    checks: list[Expectation] = []
    operations = data.get("Operations", data.get("operations")) or []
    for item in operations if isinstance(operations, list) else []:
        if not isinstance(item, dict):
            continue
        op = str(item.get("op", "")).lower()
        path = item.get("path")
        value = item.get("value")
        if op in ("add", "replace") and path is None and isinstance(value, dict):
            checks += _resource_checks(resource_type, value)
            continue
        if not isinstance(path, str):
            continue
        lowered = path.strip().lower()
        if resource_type == "Group" and lowered == "members":
            kind = "member" if op in ("add", "replace") else None
            if kind is not None:
                checks += [Expectation(kind, member_id=m) for m in _members(value)]
            continue
        member = _MEMBER_FILTER.match(path.strip())
        if resource_type == "Group" and member is not None and op == "remove":
            checks.append(Expectation("not_member", member_id=member.group(1)))
            continue
        column = columns.get(lowered)
        if column is None:
            continue
        if op == "remove":
            checks.append(Expectation("value", column, None, column in _CASE_EXACT))
        elif op in ("add", "replace"):
            expectation = _value(column, value)
            if expectation is not None:
                checks.append(expectation)
    return checks


def expectations(record: OpRecord) -> list[Expectation]:
    """The checks that together say the operation's effect is visible."""
    op = record.operation
    if record.resource_type is None:
        return []
    data = op.data or {}
    if op.method == "DELETE":
        return [Expectation("absent")]
    if op.method in ("POST", "PUT"):
        return [Expectation("exists"), *_resource_checks(record.resource_type, data)]
    if op.method == "PATCH":
        checks = _patch_checks(record.resource_type, data)
        return [Expectation("exists"), *checks] if checks else []
    return []


def lookup(record: OpRecord) -> Lookup | None:
    """For a POST without a created id: the unique attribute that finds what it meant to create."""
    op = record.operation
    if op.method != "POST" or record.resource_id is not None or not op.data:
        return None
    flat = _flatten(op.data)
    if record.resource_type == "User" and _text(flat.get("username")):
        return Lookup("user_name", str(flat["username"]), False)
    if _text(flat.get("externalid")):
        return Lookup("external_id", str(flat["externalid"]), True)
    if record.resource_type == "Group" and _text(flat.get("displayname")):
        return Lookup("display_name", str(flat["displayname"]), False)
    return None
