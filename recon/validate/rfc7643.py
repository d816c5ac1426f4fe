"""The schemas of RFC 7643 as data: core User and Group, the Enterprise User extension,
the common attributes of every resource (§3.1), and the built-in resource types.

Each attribute carries the characteristics of RFC 7643 §2.2 / §7 (type, multiValued,
caseExact, mutability, returned, required, uniqueness, canonicalValues, subAttributes).
A server's own ``/Schemas`` (stored by ``recon discover``) replaces these definitions for
the schemas it serves; :func:`parse_schema` reads such a resource into the same form.

Where §8.7.1 and the prose of §4 disagree, the prose wins: Group ``displayName`` is
REQUIRED (§4.2) and ``addresses`` has a ``primary`` sub-attribute (§4.1.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recon.scim_columns import CORE_GROUP, CORE_USER, ENTERPRISE_USER

__all__ = [
    "ATTRIBUTE_TYPES",
    "BUILTIN_RESOURCE_TYPES",
    "BUILTIN_SCHEMAS",
    "COMMON_ATTRIBUTES",
    "CORE_GROUP",
    "CORE_USER",
    "ENTERPRISE_USER",
    "Attribute",
    "ResourceTypeDef",
    "Schema",
    "parse_resource_type",
    "parse_schema",
]


ATTRIBUTE_TYPES = ("string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex")


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7); ``sub_attributes`` only for ``complex``."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    required: bool = False
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    @property
    def leaks(self) -> bool:
        """True when a value of this attribute must never come back in a response."""
        return self.returned == "never" or self.mutability == "writeOnly"


@dataclass(frozen=True)
class Schema:
    """A schema: its URN, a name, and its top-level attributes."""

    id: str
    name: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class ResourceTypeDef:
    """A resource type: its core schema and its extensions (URN -> required)."""

    name: str
    schema: str
    extensions: Mapping[str, bool] = field(default_factory=dict)


def _s(name: str, **kw: Any) -> Attribute:
    return Attribute(name, "string", **kw)


def _multi(name: str, *subs: Attribute, mutability: str = "readWrite") -> Attribute:
    return Attribute(name, "complex", multi_valued=True, mutability=mutability, sub_attributes=subs)


def _typed(
    canonical: tuple[str, ...], *, primary: bool = True, value: Attribute | None = None
) -> tuple[Attribute, ...]:
    subs = [value or _s("value"), _s("display"), _s("type", canonical_values=canonical)]
    if primary:
        subs.append(Attribute("primary", "boolean"))
    return tuple(subs)


# RFC 7643 §3.1 and §3: on every resource, whatever its schemas.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "schemas", "reference", multi_valued=True, case_exact=True, mutability="readWrite", required=True
    ),
    _s("id", case_exact=True, mutability="readOnly", returned="always", required=True, uniqueness="server"),
    _s("externalId", case_exact=True),
    Attribute(
        "meta",
        "complex",
        mutability="readOnly",
        sub_attributes=(
            _s("resourceType", case_exact=True, mutability="readOnly"),
            Attribute("created", "dateTime", mutability="readOnly"),
            Attribute("lastModified", "dateTime", mutability="readOnly"),
            Attribute("location", "reference", case_exact=True, mutability="readOnly"),
            _s("version", case_exact=True, mutability="readOnly"),
        ),
    ),
)

_USER = Schema(
    CORE_USER,
    "User",
    (
        _s("userName", required=True, uniqueness="server"),
        Attribute(
            "name",
            "complex",
            sub_attributes=tuple(
                _s(n)
                for n in (
                    "formatted",
                    "familyName",
                    "givenName",
                    "middleName",
                    "honorificPrefix",
                    "honorificSuffix",
                )
            ),
        ),
        _s("displayName"),
        _s("nickName"),
        Attribute("profileUrl", "reference"),
        _s("title"),
        _s("userType"),
        _s("preferredLanguage"),
        _s("locale"),
        _s("timezone"),
        Attribute("active", "boolean"),
        _s("password", mutability="writeOnly", returned="never"),
        _multi("emails", *_typed(("work", "home", "other"))),
        _multi("phoneNumbers", *_typed(("work", "home", "mobile", "fax", "pager", "other"))),
        _multi("ims", *_typed(("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"))),
        _multi("photos", *_typed(("photo", "thumbnail"), value=Attribute("value", "reference"))),
        _multi(
            "addresses",
            *(_s(n) for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
            _s("type", canonical_values=("work", "home", "other")),
            Attribute("primary", "boolean"),
        ),
        _multi(
            "groups",
            _s("value", mutability="readOnly"),
            Attribute("$ref", "reference", mutability="readOnly"),
            _s("display", mutability="readOnly"),
            _s("type", mutability="readOnly", canonical_values=("direct", "indirect")),
            mutability="readOnly",
        ),
        _multi("entitlements", *_typed(())),
        _multi("roles", *_typed(())),
        _multi("x509Certificates", *_typed((), value=Attribute("value", "binary"))),
    ),
)

_GROUP = Schema(
    CORE_GROUP,
    "Group",
    (
        _s("displayName", required=True),
        _multi(
            "members",
            _s("value", mutability="immutable"),
            Attribute("$ref", "reference", mutability="immutable"),
            _s("type", mutability="immutable", canonical_values=("User", "Group")),
            _s("display"),
        ),
    ),
)

_ENTERPRISE = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    (
        _s("employeeNumber"),
        _s("costCenter"),
        _s("organization"),
        _s("division"),
        _s("department"),
        Attribute(
            "manager",
            "complex",
            sub_attributes=(
                _s("value"),
                Attribute("$ref", "reference"),
                _s("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

BUILTIN_SCHEMAS: Mapping[str, Schema] = {s.id: s for s in (_USER, _GROUP, _ENTERPRISE)}
BUILTIN_RESOURCE_TYPES: Mapping[str, ResourceTypeDef] = {
    "User": ResourceTypeDef("User", CORE_USER, {ENTERPRISE_USER: False}),
    "Group": ResourceTypeDef("Group", CORE_GROUP, {}),
}


def _bool(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _attribute(raw: Mapping[str, Any], *, nested: bool) -> Attribute | None:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        return None
    kind = _text(raw.get("type"), "string")
    if kind not in ATTRIBUTE_TYPES:
        kind = "string"
    canonical = raw.get("canonicalValues")
    subs: tuple[Attribute, ...] = ()
    raw_subs = raw.get("subAttributes")
    if kind == "complex" and not nested and isinstance(raw_subs, list):
        parsed = (_attribute(sub, nested=True) for sub in raw_subs if isinstance(sub, Mapping))
        subs = tuple(sub for sub in parsed if sub is not None)
    return Attribute(
        name,
        kind,
        multi_valued=_bool(raw.get("multiValued"), False),
        case_exact=_bool(raw.get("caseExact"), False),
        mutability=_text(raw.get("mutability"), "readWrite"),
        returned=_text(raw.get("returned"), "default"),
        required=_bool(raw.get("required"), False),
        uniqueness=_text(raw.get("uniqueness"), "none"),
        canonical_values=tuple(str(v) for v in canonical) if isinstance(canonical, list) else (),
        sub_attributes=subs,
    )


def parse_schema(raw: Mapping[str, Any]) -> Schema | None:
    """A /Schemas resource as a :class:`Schema` (None when it has no ``id``).

    Attributes without a name are skipped; an unknown ``type`` is read as ``string``;
    sub-attributes of sub-attributes (not allowed by RFC 7643 §2.4) are ignored.
    """
    urn = raw.get("id")
    if not isinstance(urn, str) or not urn:
        return None
    attributes = raw.get("attributes")
    parsed = (
        _attribute(a, nested=False)
        for a in (attributes if isinstance(attributes, list) else [])
        if isinstance(a, Mapping)
    )
    return Schema(urn, _text(raw.get("name"), urn), tuple(a for a in parsed if a is not None))


def parse_resource_type(raw: Mapping[str, Any]) -> ResourceTypeDef | None:
    """A /ResourceTypes resource as a :class:`ResourceTypeDef` (None without a name and schema)."""
    name = raw.get("name") or raw.get("id")
    schema = raw.get("schema")
    if not isinstance(name, str) or not isinstance(schema, str):
        return None
    extensions: dict[str, bool] = {}
    for ext in raw.get("schemaExtensions") or []:
        if isinstance(ext, Mapping) and isinstance(ext.get("schema"), str):
            extensions[ext["schema"]] = _bool(ext.get("required"), False)
    return ResourceTypeDef(name, schema, extensions)
