"""Flatten SCIM resources (RFC 7643) into rows of the normalised tables (CONTRACT §3).

Rules:
- Users and Groups are told apart by ``schemas`` (core User / Group URN), else by
  ``meta.resourceType``. A resource without ``id`` or ``schemas`` is rejected.
- Core User attributes plus the Enterprise User extension (employeeNumber, department,
  manager.value). ``title``/``userType`` come from the core schema.
- ``emails`` is kept as a list; ``primary_email`` is the primary one, else the first
  ``work`` one, else the first.
- Timestamps are parsed to UTC whatever the offset format; one without an offset is
  taken as UTC and recorded as an anomaly.
- ``active`` (and ``primary``) given as the strings "true"/"True"/"false"/"False" are
  accepted and recorded as an anomaly; any other non-boolean is a rejection.
- Group ``members`` become memberships; ``member_type`` comes from ``type`` or, failing
  that, from a ``$ref`` ending in ``/Users/<id>`` or ``/Groups/<id>``.
- The whole resource is kept in ``raw`` (JSON text) so nothing is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from recon.fingerprint import content_sha256
from recon.schemas import CONTENT_SHA256
from recon.scim_columns import CORE_GROUP as GROUP_SCHEMA
from recon.scim_columns import CORE_USER as USER_SCHEMA
from recon.scim_columns import ENTERPRISE_USER

__all__ = [
    "ENTERPRISE_USER",
    "GROUP_SCHEMA",
    "USER_SCHEMA",
    "Normalised",
    "Rejected",
    "normalise",
    "parse_scim_datetime",
]


_BOOL_STRINGS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_REF_TYPE = re.compile(r"/(Users|Groups)/[^/]+/?$")


class Rejected(Exception):
    """A resource that cannot become a row; the message says which attribute and why."""


@dataclass
class Normalised:
    """One resource as rows: ``row`` of users or groups, and a group's ``memberships``."""

    resource_type: str  # "User" | "Group"
    row: dict[str, Any]
    memberships: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[tuple[str, str]] = field(default_factory=list)


def parse_scim_datetime(value: Any, attribute: str, anomalies: list[tuple[str, str]]) -> datetime | None:
    """Parse an RFC 3339 / xsd:dateTime string to an aware UTC datetime (None stays None)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected(f"{attribute}: expected a dateTime string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Rejected(f"{attribute}: {value!r} is not a dateTime") from exc
    if parsed.tzinfo is None:
        anomalies.append(("timestamp_without_offset", f"{attribute} {value!r} taken as UTC"))
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-23:59 is after the last representable instant
        raise Rejected(f"{attribute}: {value!r} is out of the representable range in UTC") from exc


def _str(resource: dict[str, Any], key: str, path: str) -> str | None:
    value = resource.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        raise Rejected(f"{path}: expected a string, got {type(value).__name__}")
    return str(value)  # numbers: some servers send employeeNumber as a number


def _bool(value: Any, path: str, anomalies: list[tuple[str, str]]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _BOOL_STRINGS:
        anomalies.append(("boolean_as_string", f"{path} given as the string {value!r}"))
        return _BOOL_STRINGS[value]
    raise Rejected(f"{path}: expected a boolean, got {value!r}")


def _obj(resource: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = resource.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"{path}: expected an object, got {type(value).__name__}")
    return value


def _emails(resource: dict[str, Any], anomalies: list[tuple[str, str]]) -> list[dict[str, Any]]:
    value = resource.get("emails")
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected(f"emails: expected a list, got {type(value).__name__}")
    emails = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise Rejected(f"emails[{index}]: expected an object, got {type(item).__name__}")
        emails.append(
            {
                "value": _str(item, "value", f"emails[{index}].value"),
                "type": _str(item, "type", f"emails[{index}].type"),
                "primary": _bool(item.get("primary"), f"emails[{index}].primary", anomalies),
            }
        )
    return emails


def _primary_email(emails: list[dict[str, Any]]) -> str | None:
    if not emails:
        return None
    for email in emails:
        if email["primary"]:
            return email["value"]  # type: ignore[no-any-return]
    for email in emails:
        if (email["type"] or "").lower() == "work":
            return email["value"]  # type: ignore[no-any-return]
    return emails[0]["value"]  # type: ignore[no-any-return]


def _resource_type(resource: dict[str, Any]) -> str:
    schemas = resource.get("schemas")
    if not isinstance(schemas, list) or not schemas:
        raise Rejected("schemas: missing or not a non-empty list")
    if USER_SCHEMA in schemas:
        return "User"
    if GROUP_SCHEMA in schemas:
        return "Group"
    meta = resource.get("meta")
    if isinstance(meta, dict) and meta.get("resourceType") in ("User", "Group"):
        return str(meta["resourceType"])
    raise Rejected(f"unknown resource type (schemas {schemas!r}, no meta.resourceType User/Group)")


def _meta(resource: dict[str, Any], anomalies: list[tuple[str, str]]) -> dict[str, Any]:
    meta = _obj(resource, "meta", "meta")
    return {
        "created": parse_scim_datetime(meta.get("created"), "meta.created", anomalies),
        "last_modified": parse_scim_datetime(meta.get("lastModified"), "meta.lastModified", anomalies),
        "version": _str(meta, "version", "meta.version"),
    }


def _id(resource: dict[str, Any]) -> str:
    value = resource.get("id")
    if value is None or value == "":
        raise Rejected("id: missing")
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise Rejected(f"id: expected a string, got {type(value).__name__}")
    return value


def normalise(resource: Any, raw: str | None = None) -> Normalised:
    """Turn one SCIM resource (a parsed JSON object) into table rows.

    ``raw`` is the resource's JSON text if the caller already has it (saves a dump); it must be
    a text that parses (orjson) to ``resource``, as the content print is made from ``resource``.
    Raises :class:`Rejected` with the attribute and reason when it cannot.
    """
    if not isinstance(resource, dict):
        raise Rejected(f"expected a JSON object, got {type(resource).__name__}")
    resource_type = _resource_type(resource)
    rid = _id(resource)
    anomalies: list[tuple[str, str]] = []
    if raw is None:
        try:
            raw = orjson.dumps(resource).decode("utf-8")
        except orjson.JSONEncodeError as exc:  # a lone surrogate escape, or nested past orjson's limit
            raise Rejected(f"cannot be stored as UTF-8 JSON ({exc})") from exc
    raw_text = raw
    if resource_type == "Group":
        row = {
            "id": rid,
            "external_id": _str(resource, "externalId", "externalId"),
            "display_name": _str(resource, "displayName", "displayName"),
            **_meta(resource, anomalies),
            "raw": raw_text,
            CONTENT_SHA256: content_sha256(resource, "Group"),
        }
        return Normalised("Group", row, _members(rid, resource), anomalies)
    name = _obj(resource, "name", "name")
    enterprise = _obj(resource, ENTERPRISE_USER, ENTERPRISE_USER)
    manager = enterprise.get("manager")
    if manager is not None and not isinstance(manager, dict):
        raise Rejected(f"{ENTERPRISE_USER}:manager: expected an object, got {type(manager).__name__}")
    emails = _emails(resource, anomalies)
    row = {
        "id": rid,
        "external_id": _str(resource, "externalId", "externalId"),
        "user_name": _str(resource, "userName", "userName"),
        "active": _bool(resource.get("active"), "active", anomalies),
        "display_name": _str(resource, "displayName", "displayName"),
        "given_name": _str(name, "givenName", "name.givenName"),
        "family_name": _str(name, "familyName", "name.familyName"),
        "emails": emails,
        "primary_email": _primary_email(emails),
        "employee_number": _str(enterprise, "employeeNumber", f"{ENTERPRISE_USER}:employeeNumber"),
        "department": _str(enterprise, "department", f"{ENTERPRISE_USER}:department"),
        "title": _str(resource, "title", "title"),
        "manager_id": _str(manager or {}, "value", f"{ENTERPRISE_USER}:manager.value"),
        "user_type": _str(resource, "userType", "userType"),
        **_meta(resource, anomalies),
        "raw": raw_text,
        CONTENT_SHA256: content_sha256(resource, "User"),
    }
    return Normalised("User", row, [], anomalies)


def _members(group_id: str, resource: dict[str, Any]) -> list[dict[str, Any]]:
    members = resource.get("members")
    if members is None:
        return []
    if not isinstance(members, list):
        raise Rejected(f"members: expected a list, got {type(members).__name__}")
    rows = []
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            raise Rejected(f"members[{index}]: expected an object, got {type(member).__name__}")
        value = _str(member, "value", f"members[{index}].value")
        if not value:
            raise Rejected(f"members[{index}].value: missing")
        member_type = member.get("type")
        if member_type not in ("User", "Group"):
            ref = member.get("$ref")
            match = _REF_TYPE.search(ref) if isinstance(ref, str) else None
            member_type = match.group(1)[:-1] if match else None
        rows.append({"group_id": group_id, "member_id": value, "member_type": member_type})
    return rows
