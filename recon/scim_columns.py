"""Which SCIM attribute (RFC 7643) each column of the normalised tables holds, said once.

``users.parquet`` and ``groups.parquet`` (CONTRACT §3, :mod:`recon.schemas`) flatten a few
attributes into columns; everything else stays in ``raw``. The config's attribute paths
(:mod:`recon.attributes`), filters (:mod:`recon.scim.filter`), bulk's visibility checks
(:mod:`recon.bulk.expect`) and the simulator's truth read this table instead of keeping
their own; extraction writes the columns (:mod:`recon.extract.normalize` and its Arrow fast
path), and a test checks that it writes each one from the attribute named here.

Multi-valued attributes are those RFC 7643 defines per resource type: §4.1.2 for User
(``emails`` … ``x509Certificates``, and the read-only ``groups``), §4.2 for Group
(``members``). ``members`` is a Group attribute, not a User one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "ENTERPRISE_ATTRIBUTES",
    "ENTERPRISE_USER",
    "FLATTENED",
    "LIST_COLUMNS",
    "MULTI_VALUED",
    "PRIMARY_EMAIL",
    "Flattened",
    "ResourceType",
    "by_key",
    "by_path",
    "flattened",
    "is_multi_valued",
]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

ResourceType = Literal["User", "Group"]


@dataclass(frozen=True)
class Flattened:
    """One column holding one (sub-)attribute, with the RFC 7643 characteristics that matter."""

    resource_type: ResourceType
    schema: str  # the URN that defines the attribute
    attribute: str  # spelled as RFC 7643 spells it
    sub: str | None  # the sub-attribute of a complex attribute
    column: str
    case_exact: bool = False  # RFC 7643 caseExact
    read_only: bool = False  # RFC 7643 mutability readOnly (id, meta)

    @property
    def path(self) -> str:
        """``name.givenName``; an extension attribute with its URN (``urn:…:User:department``)."""
        name = self.attribute + (f".{self.sub}" if self.sub else "")
        return name if self.schema in (CORE_USER, CORE_GROUP) else f"{self.schema}:{name}"

    @property
    def key(self) -> tuple[str, str, str | None]:
        """(schema, attribute, sub-attribute), names in lower case: how lookups match them."""
        return (self.schema, self.attribute.lower(), self.sub.lower() if self.sub else None)


def _common(resource_type: ResourceType, core: str) -> tuple[Flattened, ...]:
    return (
        Flattened(resource_type, core, "id", None, "id", case_exact=True, read_only=True),
        Flattened(resource_type, core, "externalId", None, "external_id", case_exact=True),
    )


def _meta(resource_type: ResourceType, core: str) -> tuple[Flattened, ...]:
    return (
        Flattened(resource_type, core, "meta", "created", "created", read_only=True),
        Flattened(resource_type, core, "meta", "lastModified", "last_modified", read_only=True),
        Flattened(resource_type, core, "meta", "version", "version", case_exact=True, read_only=True),
    )


FLATTENED: tuple[Flattened, ...] = (
    *_common("User", CORE_USER),
    Flattened("User", CORE_USER, "userName", None, "user_name"),
    Flattened("User", CORE_USER, "active", None, "active"),
    Flattened("User", CORE_USER, "displayName", None, "display_name"),
    Flattened("User", CORE_USER, "name", "givenName", "given_name"),
    Flattened("User", CORE_USER, "name", "familyName", "family_name"),
    Flattened("User", CORE_USER, "title", None, "title"),
    Flattened("User", CORE_USER, "userType", None, "user_type"),
    *_meta("User", CORE_USER),
    Flattened("User", ENTERPRISE_USER, "employeeNumber", None, "employee_number"),
    Flattened("User", ENTERPRISE_USER, "department", None, "department"),
    Flattened("User", ENTERPRISE_USER, "manager", "value", "manager_id"),
    *_common("Group", CORE_GROUP),
    Flattened("Group", CORE_GROUP, "displayName", None, "display_name"),
    *_meta("Group", CORE_GROUP),
)
"""Every flattened scalar column of ``users.parquet`` and ``groups.parquet``."""

PRIMARY_EMAIL = "primary_email"
"""The users column holding the primary email's value (primary, else type work, else the first);
the config spells it ``emails[primary]``, a PATCH ``emails[primary eq true].value``."""

LIST_COLUMNS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    (CORE_USER, "emails"): ("emails", ("value", "type", "primary")),
    (CORE_GROUP, "members"): ("members", ("value", "type")),
}
"""Multi-valued attributes kept as a list of structs: (schema, attribute in lower case) ->
(column, the sub-attributes each struct holds). Group members are the memberships table."""

MULTI_VALUED: dict[ResourceType, frozenset[str]] = {
    "User": frozenset(
        {
            "emails",
            "phonenumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509certificates",
        }
    ),
    "Group": frozenset({"members"}),
}
"""The multi-valued attributes of each resource type's core schema (lower case; RFC 7643 §4)."""

ENTERPRISE_ATTRIBUTES = ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
"""The attributes of the Enterprise User extension (RFC 7643 §4.3), which a config may name bare."""


def is_multi_valued(resource_type: ResourceType, attribute: str) -> bool:
    """Whether the core schema of ``resource_type`` defines ``attribute`` as multi-valued."""
    return attribute.lower() in MULTI_VALUED[resource_type]


def flattened(resource_type: ResourceType) -> tuple[Flattened, ...]:
    """The flattened columns of one resource type's table."""
    return tuple(f for f in FLATTENED if f.resource_type == resource_type)


@functools.cache
def by_key(resource_type: ResourceType) -> dict[tuple[str, str, str | None], str]:
    """(schema, attribute, sub) in lower case -> column, for one resource type."""
    return {f.key: f.column for f in flattened(resource_type)}


@functools.cache
def by_path(resource_type: ResourceType, *, writable: bool = False) -> dict[str, str]:
    """Lower-cased path -> column: core attributes by their dotted path (``name.givenname``),
    extension attributes by their full URN path; ``writable`` leaves out read-only ones."""
    return {f.path.lower(): f.column for f in flattened(resource_type) if not (writable and f.read_only)}
