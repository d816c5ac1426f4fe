"""Attribute definitions a filter is resolved against (RFC 7643 §4, §8.7.1).

A :class:`Catalog` knows the core User, Enterprise User and core Group schemas with
their RFC 7643 characteristics (type, multi-valued, caseExact). ``caseExact`` (and the
type of attributes recon does not know) can be overridden by what a server serves at
/Schemas, as stored by ``recon discover`` under ``advertised.attributes``.

:meth:`Catalog.resolve` turns an :class:`~recon.scim.filter.ast.AttrPath` into a
:class:`Resolved`: the JSON keys of the attribute in a SCIM resource and, where recon
flattens it, the column of the normalised tables. Attribute names are matched
case-insensitively; unknown attributes resolve to their keys as written, so they are
read from ``raw`` (and are unassigned when absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from recon.scim_columns import CORE_GROUP, CORE_USER, ENTERPRISE_USER, LIST_COLUMNS, by_key

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "DEFAULT_CATALOG",
    "ENTERPRISE_USER",
    "AttributeDef",
    "Catalog",
    "Resolved",
]

SCALAR_TYPES = ("string", "boolean", "dateTime", "decimal", "integer", "reference", "binary")


@dataclass(frozen=True)
class AttributeDef:
    """One attribute (or sub-attribute) and the characteristics filters depend on."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    case_exact: bool = False
    sub: tuple[AttributeDef, ...] = ()

    def child(self, name: str) -> AttributeDef | None:
        """The sub-attribute called ``name`` (case-insensitive)."""
        lowered = name.lower()
        return next((s for s in self.sub if s.name.lower() == lowered), None)


def _s(name: str, case_exact: bool = False, type_: str = "string") -> AttributeDef:
    return AttributeDef(name, type_, case_exact=case_exact)


def _multi(name: str, *subs: AttributeDef) -> AttributeDef:
    return AttributeDef(name, "complex", multi_valued=True, sub=subs)


_PLURAL = (_s("value"), _s("display"), _s("type"), _s("primary", type_="boolean"))
_META = AttributeDef(
    "meta",
    "complex",
    sub=(
        _s("resourceType", True),
        _s("created", type_="dateTime"),
        _s("lastModified", type_="dateTime"),
        _s("location", True, "reference"),
        _s("version", True),
    ),
)
_COMMON = (_s("id", True), _s("externalId", True), _META)

_USER = (
    *_COMMON,
    _s("userName"),
    AttributeDef(
        "name",
        "complex",
        sub=tuple(
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
    *(
        _s(n)
        for n in ("displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone")
    ),
    _s("profileUrl", type_="reference"),
    _s("active", type_="boolean"),
    _s("password"),
    _multi("emails", *_PLURAL),
    _multi("phoneNumbers", *_PLURAL),
    _multi("ims", *_PLURAL),
    _multi("photos", _s("value", True, "reference"), *_PLURAL[1:]),
    _multi(
        "addresses",
        *(
            _s(n)
            for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country", "type")
        ),
        _s("primary", type_="boolean"),
    ),
    _multi("groups", _s("value"), _s("$ref", type_="reference"), _s("display"), _s("type")),
    _multi("entitlements", *_PLURAL),
    _multi("roles", *_PLURAL),
    _multi("x509Certificates", _s("value", True, "binary"), *_PLURAL[1:]),
)
_ENTERPRISE = (
    *(_s(n) for n in ("employeeNumber", "costCenter", "organization", "division", "department")),
    AttributeDef("manager", "complex", sub=(_s("value"), _s("$ref", type_="reference"), _s("displayName"))),
)
_GROUP = (
    *_COMMON,
    _s("displayName"),
    _multi("members", _s("value", True), _s("$ref", type_="reference"), _s("display"), _s("type")),
)

# Flattened columns of the normalised tables (CONTRACT §3), by (schema, attr, sub) in lower case,
# and the multi-valued attributes kept as a list of structs (recon/scim_columns.py).
_USER_COLUMNS = by_key("User")
_GROUP_COLUMNS = by_key("Group")
_LIST_COLUMNS = LIST_COLUMNS


@dataclass(frozen=True)
class Resolved:
    """Where an attribute path points.

    ``keys`` are the JSON keys in the SCIM resource (``("name", "givenName")``,
    ``(ENTERPRISE_USER, "department")``). ``definition`` describes the addressed attribute
    (``None`` when unknown); ``top`` the top-level attribute. ``column`` names a flattened
    scalar column; ``list_column``/``list_field`` a list-of-structs column and the field
    holding the sub-attribute; ``constant`` a value fixed by the resource type.
    """

    text: str
    schema: str
    keys: tuple[str, ...]
    definition: AttributeDef | None
    top: AttributeDef | None
    column: str | None = None
    list_column: str | None = None
    list_field: str | None = None
    list_fields: tuple[str, ...] = ()
    constant: str | None = None

    @property
    def type(self) -> str | None:
        """The addressed attribute's type, or None when unknown."""
        return None if self.definition is None else self.definition.type

    @property
    def case_exact(self) -> bool:
        """RFC 7643 default for unknown attributes is caseExact=false."""
        return False if self.definition is None else self.definition.case_exact


@dataclass(frozen=True)
class Catalog:
    """Known schemas per resource type; build one from /Schemas data with :meth:`with_advertised`."""

    schemas: Mapping[str, tuple[AttributeDef, ...]] = field(
        default_factory=lambda: {CORE_USER: _USER, ENTERPRISE_USER: _ENTERPRISE, CORE_GROUP: _GROUP}
    )

    def with_advertised(self, attributes: Mapping[str, Mapping[str, Any]] | None) -> Catalog:
        """A copy whose caseExact (and unknown attributes' types) follow ``advertised.attributes``.

        ``attributes`` maps a schema URN to ``{"attr" or "attr.sub": {"type", "multiValued",
        "caseExact", ...}}`` as ``recon discover`` stores it.
        """
        if not attributes:
            return self
        schemas = dict(self.schemas)
        for urn, entries in attributes.items():
            if not isinstance(entries, Mapping):
                continue
            key = next((k for k in schemas if k.lower() == str(urn).lower()), str(urn))
            defs = {d.name.lower(): d for d in schemas.get(key, ())}
            subs: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
            for path, spec in entries.items():
                if not isinstance(spec, Mapping):
                    continue
                name, _, sub = str(path).partition(".")
                if sub:
                    subs.setdefault(name.lower(), []).append((sub, spec))
                else:
                    defs[name.lower()] = _merge(defs.get(name.lower()), name, spec)
            for name, items in subs.items():
                parent = defs.get(name) or AttributeDef(name, "complex")
                children = {s.name.lower(): s for s in parent.sub}
                for sub, spec in items:
                    children[sub.lower()] = _merge(children.get(sub.lower()), sub, spec)
                defs[name] = replace(parent, sub=tuple(children.values()))
            schemas[key] = tuple(defs.values())
        return Catalog(schemas)

    def core(self, resource_type: str) -> str:
        return CORE_GROUP if resource_type == "Group" else CORE_USER

    def _schema_for(self, resource_type: str, uri: str | None, attr: str) -> str:
        core = self.core(resource_type)
        if uri is not None:
            return next((k for k in self.schemas if k.lower() == uri.lower()), uri)
        # RFC 7644 §3.10: clients MAY leave extension attributes unqualified when unambiguous.
        if (
            resource_type == "User"
            and _find(self.schemas.get(core, ()), attr) is None
            and _find(self.schemas.get(ENTERPRISE_USER, ()), attr) is not None
        ):
            return ENTERPRISE_USER
        return core

    def resolve(self, resource_type: str, attr: str, sub: str | None, uri: str | None = None) -> Resolved:
        """Resolve ``[uri:]attr[.sub]`` for ``User`` or ``Group`` resources."""
        schema = self._schema_for(resource_type, uri, attr)
        top = _find(self.schemas.get(schema, ()), attr)
        top_name = top.name if top else attr
        definition = top
        sub_name = sub
        if sub is not None:
            child = top.child(sub) if top else None
            sub_name = child.name if child else sub
            definition = child
        core = schema == self.core(resource_type)
        keys = ((top_name,) if core else (schema, top_name)) + ((sub_name,) if sub_name else ())
        text = ".".join(keys[0 if core else 1 :])
        columns = _USER_COLUMNS if resource_type == "User" else _GROUP_COLUMNS
        lowered = (schema, top_name.lower(), sub_name.lower() if sub_name else None)
        resolved = Resolved(text, schema, keys, definition, top, column=columns.get(lowered))
        if core and top_name.lower() == "meta" and (sub_name or "").lower() == "resourcetype":
            return replace(resolved, constant=resource_type)
        listed = _LIST_COLUMNS.get((schema, top_name.lower()))
        if listed is not None:
            column, fields = listed
            field_name = (sub_name or "value").lower()
            return replace(
                resolved,
                list_column=column,
                list_field=field_name if field_name in fields else None,
                list_fields=fields,
            )
        return resolved


def _find(defs: tuple[AttributeDef, ...], name: str) -> AttributeDef | None:
    lowered = name.lower()
    return next((d for d in defs if d.name.lower() == lowered), None)


def _merge(known: AttributeDef | None, name: str, spec: Mapping[str, Any]) -> AttributeDef:
    base = known or AttributeDef(
        name,
        str(spec.get("type") or "string"),
        multi_valued=bool(spec.get("multiValued")),
    )
    if base.type not in (*SCALAR_TYPES, "complex"):
        base = replace(base, type="string")
    case_exact = spec.get("caseExact")
    return replace(base, case_exact=case_exact) if isinstance(case_exact, bool) else base


DEFAULT_CATALOG = Catalog()
