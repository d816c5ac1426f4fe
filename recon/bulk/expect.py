"""What each bulk operation should make visible in the target's export.

An operation's effect is a list of :class:`Expectation` rows; ``sql/bulk_outcomes.sql`` checks
them against the export taken after the run:

- ``exists`` / ``absent``: the resource is (not) in the export (POST, PUT / DELETE);
- ``value``: an attribute has the value sent, decided by :func:`value_met`;
- ``member`` / ``not_member``: a membership row is (not) there (group PATCH add/remove, POST members).

Whether a value landed is a content question, answered by :mod:`recon.content` (the one
definition of "same content", RFC 7643 rules: caseExact=false values case-insensitively,
unassigned values equal, multi-valued attributes as sets, dateTimes as instants) on the
target resource's ``raw`` JSON. The attributes checked are those the export also flattens
(userName, active, the name parts, emails, title, department, manager, …); anything else an
operation sets is left out (an operation with nothing checkable is reported ``visible`` = null).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

import orjson

from recon.bulk.model import BULK_ID_PREFIX, bulk_references
from recon.bulk.records import OpRecord
from recon.content import ContentRules, same_content
from recon.scim_columns import ENTERPRISE_USER, PRIMARY_EMAIL, by_path

__all__ = [
    "Expectation",
    "Lookup",
    "Members",
    "Segment",
    "check_segments",
    "expectations",
    "lookup",
    "value_met",
]

_ENTERPRISE = ENTERPRISE_USER.lower()
# SCIM path (lower case) -> flattened column of users.parquet / groups.parquet: the attributes
# an operation can set (recon/scim_columns.py), and the other spellings of manager and email.
# The column names the attribute in `unmet`; the value itself is compared on raw.
_USER_COLUMNS = {
    **by_path("User", writable=True),
    f"{_ENTERPRISE}:manager": "manager_id",
    "emails[primary eq true].value": PRIMARY_EMAIL,
    "emails": PRIMARY_EMAIL,
}
_GROUP_COLUMNS = by_path("Group", writable=True)
_PRIMARY_VALUE = "emails[primary eq true].value"
_MEMBER_FILTER = re.compile(r'^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$', re.IGNORECASE)


class Expectation(NamedTuple):
    """One check of an operation's effect (a tuple: an analysis makes 700,000 at 1M users)."""

    check: str  # exists | absent | value | member | not_member
    attribute: str | None = None  # value: the flattened column naming the attribute (for `unmet`)
    expected: str | None = None  # value: the value sent, as text (None: unassigned)
    member_id: str | None = None
    path: str | None = None  # value: the SCIM path set (lower case)
    value: Any = None  # value: the JSON value set (None: removed)
    adds: bool = False  # value: PATCH add of a multi-valued attribute (the values join the others)


# an Expectation made from all its fields by tuple's own constructor: a NamedTuple's __new__ is a
# Python function (a call frame per check; 854,500 checks at 1M users)
_new = tuple.__new__


class Members(NamedTuple):
    """Consecutive ``member`` (or ``not_member``) checks, one per id, kept as one list: a 1M-user
    analysis checks 490,000 memberships, and a list of ids becomes table rows without a tuple each."""

    check: str  # member | not_member
    member_ids: list[str]


Segment: TypeAlias = Expectation | Members


@dataclass(frozen=True)
class Lookup:
    """How to find the resource a POST meant to create when no location came back."""

    attribute: str  # user_name | display_name | external_id
    value: str
    case_exact: bool


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _value(column: str, path: str, value: Any, *, adds: bool = False) -> Expectation | None:
    kind = type(value)
    if kind is str and BULK_ID_PREFIX not in value:  # most values (670,000 at 1M users): as below
        return _new(Expectation, ("value", column, value or None, None, path, value, adds))
    if kind is bool:
        return _new(Expectation, ("value", column, "true" if value else "false", None, path, value, adds))
    if _refers(value):
        return None  # an unresolved reference cannot be compared
    shown = _primary_email(value) if column == PRIMARY_EMAIL and isinstance(value, list) else value
    if column == "manager_id" and isinstance(shown, dict):
        shown = shown.get("value")
    return Expectation("value", column, _text(shown), path=path, value=value, adds=adds)


def _refers(value: Any) -> bool:
    """Whether a value holds a ``bulkId:`` reference (cheaply ruled out for plain values)."""
    if isinstance(value, str):
        return BULK_ID_PREFIX in value and bool(bulk_references(value))
    return isinstance(value, dict | list) and bool(bulk_references(value))


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


# -- did the value land? ------------------------------------------------------------------
def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` with SCIM's case-insensitive attribute names (None when absent)."""
    if not isinstance(obj, Mapping):
        return None
    if key in obj:
        return obj[key]
    for name, value in obj.items():
        if name.lower() == key:
            return value
    return None


def _split(path: str) -> tuple[str | None, str, str | None]:
    """(extension URN, attribute, sub-attribute) of a lower-case SCIM path."""
    urn = None
    if path.startswith("urn:"):
        urn, _, path = path.rpartition(":")
    attribute, _, sub = path.partition(".")
    return urn, attribute, sub or None


def _nest(urn: str | None, attribute: str, sub: str | None, value: Any) -> dict[str, Any]:
    inner: dict[str, Any] = {attribute: {sub: value} if sub else value}
    return {urn: inner} if urn else inner


def _projected(observed: Any, expected: Any) -> Any:
    """The observed value limited to the sub-attributes the expected (singular complex) one sets."""
    if isinstance(expected, dict) and isinstance(observed, Mapping):
        return {key: _get(observed, key.lower()) for key in expected}
    return observed


def value_met(
    check: Expectation, resource: Mapping[str, Any], resource_type: str, rules: ContentRules
) -> tuple[bool, str | None]:
    """(whether ``resource`` shows the value ``check`` expects, the value it shows as text).

    The content comparison of :func:`recon.content.changed_paths` (asked through
    :func:`recon.content.same_content`, which does not name the paths) on the attribute alone: a
    re-cased caseExact=false value or a reordered multi-valued one is the value sent; a
    changed sub-attribute is not. A complex value counts the sub-attributes sent, a PATCH
    ``add`` to a multi-valued attribute the values added.
    """
    path = check.path or ""
    if path == _PRIMARY_VALUE:
        observed = _primary_email(_get(resource, "emails"))
        expected_part = {"emails": [{"value": check.value}]}
        observed_part = {"emails": [{"value": observed}]}
        return same_content(expected_part, observed_part, resource_type, rules), _text(observed)
    urn, attribute, sub = _split(path)
    container = _get(resource, urn) if urn else resource
    observed = _get(container, attribute)
    if sub:
        observed = _get(observed, sub)
    observed = _projected(observed, check.value)
    expected = check.value
    if check.adds and isinstance(expected, list) and isinstance(observed, list):
        expected = [*observed, *expected]  # the values added, beside the ones already there
    same = same_content(
        _nest(urn, attribute, sub, expected), _nest(urn, attribute, sub, observed), resource_type, rules
    )
    shown = _primary_email(observed) if check.attribute == PRIMARY_EMAIL else observed
    if check.attribute == "manager_id" and isinstance(shown, Mapping):
        shown = shown.get("value")
    return same, _text(shown)


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


_Shape: TypeAlias = tuple[tuple[str, str, str, str | None], ...]
_SHAPES: dict[tuple[str, tuple[tuple[str, tuple[str, ...] | None], ...]], _Shape] = {}
_SHAPES_KEPT = 4096  # distinct key layouts remembered (a plan's bodies share a few; hostile input, many)
_LAYOUT_KEYS = 64  # a layout of more keys is flattened each time, not remembered


def _shape(resource_type: str, data: dict[str, Any]) -> _Shape:
    """What :func:`_flatten` makes of a body of this key layout, for the attributes checked:
    (path, column, key, sub-key or None) in :func:`_flatten`'s order, the value being
    ``data[key]`` or ``data[key][sub]``.

    A layout is the keys in order, with each object value's keys (the only values whose type
    :func:`_flatten` asks about). Derived by running :func:`_flatten` itself on the layout, each
    value standing for where it is read from, so the paths, their order and which of two keys
    spelling one path wins are :func:`_flatten`'s own (a creation's ~8 checks at 1M users: 80,000
    bodies of one layout, flattened once)."""
    keys = tuple((k, tuple(v) if isinstance(v, dict) else None) for k, v in data.items())
    shape = _SHAPES.get((resource_type, keys))
    if shape is not None:
        return shape
    stand_in: dict[str, Any] = {}
    whole: dict[int, str] = {}  # a stand-in object -> its key (an object _flatten keeps whole)
    for key, subs in keys:
        if subs is None:
            stand_in[key] = (key, None)
        else:
            inner = stand_in[key] = {sub: (key, sub) for sub in subs}
            whole[id(inner)] = key
    columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
    found: list[tuple[str, str, str, str | None]] = []
    for path, where in _flatten(stand_in).items():
        if path in columns:
            key, sub = (whole[id(where)], None) if isinstance(where, dict) else where
            found.append((path, columns[path], key, sub))
    shape = tuple(found)
    if len(_SHAPES) < _SHAPES_KEPT and len(keys) <= _LAYOUT_KEYS:
        _SHAPES[resource_type, keys] = shape
    return shape


def _members(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(m["value"]) for m in value if isinstance(m, dict) and m.get("value") is not None]


def _resource_checks(resource_type: str, data: dict[str, Any]) -> list[Segment]:
    checks: list[Segment] = []
    for path, column, key, sub in _shape(resource_type, data):
        value = data[key] if sub is None else data[key][sub]
        if value is not None:
            expectation = _value(column, path, value)
            if expectation is not None:
                checks.append(expectation)
    if resource_type == "Group":
        _add_members(checks, "member", _members(data.get("members")))
    return checks


def _add_members(checks: list[Segment], kind: str, member_ids: list[str]) -> None:
    if member_ids:  # an empty segment would count as a check where there is none
        checks.append(Members(kind, member_ids))


def _patch_checks(resource_type: str, data: dict[str, Any]) -> list[Segment]:
    columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
    checks: list[Segment] = []
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
                _add_members(checks, kind, _members(value))
            continue
        member = _MEMBER_FILTER.match(path.strip()) if resource_type == "Group" else None
        if member is not None and op == "remove":
            checks.append(Expectation("not_member", member_id=member.group(1)))
            continue
        column = columns.get(lowered)
        if column is None:
            continue
        if op == "remove":
            checks.append(Expectation("value", column, None, path=lowered))
        elif op in ("add", "replace"):
            expectation = _value(column, lowered, value, adds=op == "add" and isinstance(value, list))
            if expectation is not None:
                checks.append(expectation)
    return checks


def expectations(record: OpRecord) -> list[Expectation]:
    """The checks that together say the operation's effect is visible."""
    checks: list[Expectation] = []
    for segment in check_segments(record):
        if isinstance(segment, Members):
            checks += [Expectation(segment.check, member_id=m) for m in segment.member_ids]
        else:
            checks.append(segment)
    return checks


def check_segments(record: OpRecord) -> list[Segment]:
    """:func:`expectations` in order, runs of membership checks kept as :class:`Members`."""
    op = record.operation
    if record.resource_type is None:
        return []
    data = op.data or {}
    if op.method == "DELETE":
        return [_ABSENT]
    if op.method in ("POST", "PUT"):
        return [_EXISTS, *_resource_checks(record.resource_type, data)]
    if op.method == "PATCH":
        checks = _patch_checks(record.resource_type, data)
        return [_EXISTS, *checks] if checks else []
    return []


_EXISTS = Expectation("exists")  # one tuple for every operation's first check (tuples are immutable)
_ABSENT = Expectation("absent")


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
