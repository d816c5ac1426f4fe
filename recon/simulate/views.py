"""What the truth reads: the exported resources, reduced to what findings and deltas compare.

The simulator feeds every SCIM resource it writes to a :class:`ViewBuilder` (for findings)
and, for the IdP, a :class:`ContentIndex` (for deltas). So the truth is computed from the
data exactly as written — traps and masked faults included — not from what a fault meant to do.
The same classes can be fed resources read back from any export (the tests do).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, NamedTuple

import orjson

from recon.scim_columns import CORE_GROUP as GROUP_SCHEMA
from recon.scim_columns import CORE_USER as USER_SCHEMA
from recon.scim_columns import ENTERPRISE_USER as ENTERPRISE
from recon.simulate.memo import Doc, Members, Memo

__all__ = [
    "CUSTOM",
    "ENTERPRISE",
    "GROUP_SCHEMA",
    "USER_SCHEMA",
    "ContentIndex",
    "DirectoryView",
    "GroupRow",
    "Indexed",
    "UserRow",
    "ViewBuilder",
    "by_repr",
    "content",
    "doc_of",
    "fingerprint",
    "group_content",
    "is_group",
    "parse_time",
    "primary_email",
    "user_row",
]

CUSTOM = "urn:example:params:scim:schemas:extension:acme:2.0:User"  # the IdP's own extension


class UserRow(NamedTuple):
    """A user as findings compare it (values as written, not normalised)."""

    id: str
    external_id: str | None
    user_name: str | None
    active: bool | None
    given_name: str | None
    family_name: str | None
    primary_email: str | None
    title: str | None
    department: str | None


class GroupRow(NamedTuple):
    """A group as findings correlate it."""

    id: str
    external_id: str | None
    display_name: str | None


@dataclass
class DirectoryView:
    """One system's full export for findings: users, groups, and memberships by member."""

    users: list[UserRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    user_groups: dict[str, list[str]] = field(default_factory=dict)  # user id -> group ids
    group_parents: dict[str, list[str]] = field(default_factory=dict)  # group id -> groups it is in


def is_group(resource: dict[str, Any]) -> bool:
    """True for a Group resource (by ``schemas``, else ``meta.resourceType``)."""
    schemas = resource.get("schemas") or []
    if GROUP_SCHEMA in schemas:
        return True
    if USER_SCHEMA in schemas:
        return False
    return bool((resource.get("meta") or {}).get("resourceType") == "Group")


def doc_of(resource: dict[str, Any]) -> Doc:
    """A resource as a :class:`Doc` (for feeding collectors with resources read elsewhere)."""
    return Doc.of(resource, is_group(resource))


def primary_email(emails: Iterable[dict[str, Any]]) -> str | None:
    """The primary email's value; else the first ``work`` one; else the first (as RFC 7643 readers do)."""
    listed = emails if type(emails) is list else list(emails)
    if not listed:
        return None
    # loops rather than generators: this runs for every user of every export
    chosen = None
    for email in listed:
        if email.get("primary") is True:
            chosen = email
            break
    else:
        for email in listed:
            if str(email.get("type") or "").lower() == "work":
                chosen = email
                break
        else:
            chosen = listed[0]
    value = chosen.get("value")
    return None if value is None else str(value)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (None for absent or "")."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class ViewBuilder:
    """Collects a :class:`DirectoryView` from the resources of one export.

    With a ``memo``, the row of a user whose JSON text was seen in the previous export is reused.
    """

    def __init__(self, memo: Memo[UserRow] | None = None) -> None:
        self.view = DirectoryView()
        self._memo = memo

    def add(self, doc: Doc) -> None:
        """Take one resource."""
        if doc.group:
            resource = doc.data
            rid = str(resource["id"])
            self.view.groups.append(GroupRow(rid, resource.get("externalId"), resource.get("displayName")))
            users, groups = self.view.user_groups, self.view.group_parents
            if doc.members is not None:  # rendered here: the ids without an object per member
                for ids, into in ((doc.members.users, users), (doc.members.groups, groups)):
                    for value in ids:
                        listed = into.get(value)
                        if listed is None:
                            into[value] = [rid]
                        else:
                            listed.append(rid)
                return
            for member in resource.get("members") or []:
                into = groups if member.get("type") == "Group" else users
                value = member["value"]
                listed = into.get(value if type(value) is str else str(value))
                if listed is None:
                    into[str(value)] = [rid]
                else:
                    listed.append(rid)
            return
        if doc.row is not None:
            self.view.users.append(doc.row)
        elif self._memo is not None:
            self.view.users.append(self._memo.get(doc.raw, lambda: user_row(doc.data)))
        else:
            self.view.users.append(user_row(doc.data))


def user_row(resource: dict[str, Any]) -> UserRow:
    """The :class:`UserRow` of a User resource."""
    name = resource.get("name") or {}
    enterprise = resource.get(ENTERPRISE) or {}
    return UserRow(
        str(resource["id"]),
        resource.get("externalId"),
        resource.get("userName"),
        resource.get("active"),
        name.get("givenName"),
        name.get("familyName"),
        primary_email(resource.get("emails") or []),
        resource.get("title"),
        enterprise.get("department"),
    )


_NO_TIME = -(2**63)


class Indexed(NamedTuple):
    """A record's id, content fingerprint with lastModified (packed), and name (for delta truth)."""

    id: str
    key: bytes  # 16-byte content fingerprint, then lastModified as 8 bytes of microseconds since 1970
    name: str | None

    @property
    def digest(self) -> bytes:
        """The content fingerprint."""
        return self.key[:16]

    @property
    def last_modified(self) -> datetime | None:
        """meta.lastModified in UTC (None when absent)."""
        micros = int.from_bytes(self.key[16:], "big", signed=True)
        return None if micros == _NO_TIME else _EPOCH + timedelta(microseconds=micros)

    @classmethod
    def of(cls, rid: str, digest: bytes, name: str | None, last_modified: datetime | None) -> Indexed:
        """Pack a record's fingerprint and lastModified."""
        micros = _NO_TIME if last_modified is None else (last_modified - _EPOCH) // timedelta(microseconds=1)
        return cls(rid, digest + micros.to_bytes(8, "big", signed=True), name)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fingerprint(rid: str, values: list[Any], name: str | None, last_modified: int | None) -> Indexed:
    """The :class:`Indexed` of a record whose content key ``values`` (as :func:`content` lists
    them) and lastModified (whole seconds since 1970, None when absent) are known."""
    micros = _NO_TIME if last_modified is None else last_modified * 1_000_000
    return Indexed(rid, _digest(values) + micros.to_bytes(8, "big", signed=True), name)


class ContentIndex:
    """Content fingerprints of one export's users and groups (CONTRACT §5 content, exactly).

    User content: externalId, userName, active, displayName, name.givenName/familyName, the
    set of (email value, type, primary), the primary email, employeeNumber, department, title,
    manager.value, userType, and what only the IdP holds (phone numbers, address localities,
    roles, costCenter, the custom extension's badge) with its re-serialisations undone.
    Group content: externalId, displayName and the set of (member
    value, type). ``meta`` is not content. The fingerprint is a 128-bit BLAKE2b of the
    canonical JSON of those values.
    """

    def __init__(self, memo: Memo[Indexed] | None = None) -> None:
        self.users: dict[str, Indexed] = {}
        self.groups: dict[str, Indexed] = {}
        self._memo = memo

    def add(self, doc: Doc) -> None:
        """Take one resource."""
        if doc.indexed is not None:
            indexed = doc.indexed
        elif doc.members is not None:
            indexed = group_content(doc.data, doc.members)
        elif self._memo is not None:
            indexed = self._memo.get(doc.raw, lambda: content(doc.data))
        else:
            indexed = content(doc.data)
        into = self.groups if doc.group else self.users
        into[indexed.id] = indexed


def content(resource: dict[str, Any]) -> Indexed:
    """The content fingerprint, name and lastModified of a User or Group resource."""
    meta = resource.get("meta") or {}
    last_modified = parse_time(meta.get("lastModified"))
    if is_group(resource):
        members = {(str(m.get("value")), str(m.get("type"))) for m in resource.get("members") or []}
        return _group_indexed(resource, members, last_modified)
    name = resource.get("name") or {}
    enterprise = resource.get(ENTERPRISE) or {}
    emails = resource.get("emails") or []
    key = [
        resource.get("externalId"),
        resource.get("userName"),
        resource.get("active"),
        resource.get("displayName"),
        name.get("givenName"),
        name.get("familyName"),
        by_repr({(e.get("value"), e.get("type"), e.get("primary")) for e in emails}),
        primary_email(emails),
        enterprise.get("employeeNumber"),
        enterprise.get("department"),
        resource.get("title"),
        (enterprise.get("manager") or {}).get("value"),
        resource.get("userType"),
        # what only the IdP holds, undoing its re-serialisations (letter case, order, "")
        sorted({(p.get("value"), str(p.get("type")).lower()) for p in resource.get("phoneNumbers") or []}),
        sorted({(a.get("locality"), str(a.get("country")).upper()) for a in resource.get("addresses") or []}),
        sorted({str(r.get("value")).lower() for r in resource.get("roles") or []}),
        enterprise.get("costCenter") or None,
        str((resource.get(CUSTOM) or {}).get("badge")).lower(),
    ]
    return Indexed.of(str(resource["id"]), _digest(key), resource.get("userName"), last_modified)


def group_content(resource: dict[str, Any], members: Members) -> Indexed:
    """:func:`content` of a group whose ``members`` are given apart (``resource`` without them)."""
    listed = {*zip(members.users, repeat("User")), *zip(members.groups, repeat("Group"))}
    return _group_indexed(resource, listed, parse_time((resource.get("meta") or {}).get("lastModified")))


def _group_indexed(
    resource: dict[str, Any], members: set[tuple[str, str]], modified: datetime | None
) -> Indexed:
    key: list[Any] = [resource.get("externalId"), resource.get("displayName"), sorted(members)]
    return Indexed.of(str(resource["id"]), _digest(key), resource.get("displayName"), modified)


def by_repr(values: set[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The set's members in the order of their repr (a lone one without calling repr)."""
    return list(values) if len(values) < 2 else sorted(values, key=repr)


def _digest(values: list[Any]) -> bytes:
    return hashlib.blake2b(orjson.dumps(values), digest_size=16).digest()
