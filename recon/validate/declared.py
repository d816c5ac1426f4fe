"""What a system declares: RFC 7643 built-ins, replaced by its own /Schemas and /ResourceTypes.

:func:`declared_for` merges the two sources into a :class:`Declared` model, and the
``*_table`` functions turn it into the small Arrow tables the ``sql/validate_*.sql`` files
join against. Attribute paths use RFC 7643 notation: ``userName``, ``name.givenName``,
``emails.type`` for the core schema and the common attributes, and ``<schema URN>:<attr>``
(``urn:…:enterprise:2.0:User:manager.value``) for extensions.

Rules for a server's declarations:
- a schema the server serves in /Schemas replaces the built-in schema with that URN; the
  common attributes (``id``, ``externalId``, ``meta``, ``schemas``) are always declared;
- /ResourceTypes, when served, says which extensions a User or Group may carry (and which
  are required); without it, User carries the Enterprise extension and every served schema
  that is not a core schema is accepted as an extension of both User and Group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from recon.capabilities import Capabilities
from recon.validate.rfc7643 import (
    BUILTIN_RESOURCE_TYPES,
    BUILTIN_SCHEMAS,
    COMMON_ATTRIBUTES,
    CORE_GROUP,
    CORE_USER,
    Attribute,
    ResourceTypeDef,
    Schema,
    parse_resource_type,
    parse_schema,
)

__all__ = [
    "DECLARED_ATTRIBUTES",
    "DECLARED_SCHEMAS",
    "RESOURCE_TYPES",
    "Declared",
    "DeclaredAttribute",
    "attributes_table",
    "declared_for",
    "json_path",
    "schemas_table",
]

RESOURCE_TYPES = ("User", "Group")
_CORE = {"User": CORE_USER, "Group": CORE_GROUP}

DECLARED_ATTRIBUTES = pa.schema(
    [
        ("resource_type", pa.string()),
        ("schema", pa.string()),
        ("path", pa.string()),
        ("key", pa.string()),
        ("parent_key", pa.string()),
        ("type", pa.string()),
        ("multi_valued", pa.bool_()),
        ("case_exact", pa.bool_()),
        ("mutability", pa.string()),
        ("returned", pa.string()),
        ("required", pa.bool_()),
        ("in_multi", pa.bool_()),
        ("canonical_values", pa.list_(pa.string())),
    ]
)
DECLARED_SCHEMAS = pa.schema(
    [
        ("resource_type", pa.string()),
        ("schema", pa.string()),
        ("key", pa.string()),
        ("role", pa.string()),
        ("required", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class DeclaredAttribute:
    """One attribute as a resource type declares it, with its RFC 7643 notation path."""

    resource_type: str
    schema: str
    path: str
    parent: str | None  # the parent attribute's path, or the extension URN, or None at the root
    attribute: Attribute
    in_multi: bool  # a sub-attribute of a multi-valued complex attribute

    @property
    def json_path(self) -> str:
        """The DuckDB JSON path of this attribute in a resource (through no array)."""
        return json_path(self.path, self.schema if self.schema not in (CORE_USER, CORE_GROUP, "") else None)


@dataclass(frozen=True)
class Declared:
    """The schemas and resource types one system declares, and where they came from."""

    schemas: Mapping[str, Schema]
    resource_types: Mapping[str, ResourceTypeDef]
    source: str  # "rfc7643" or "server /Schemas (discovered …)"
    served_schemas: tuple[str, ...] = ()

    def core(self, resource_type: str) -> str:
        """The core schema URN of ``resource_type``."""
        found = self.resource_types.get(resource_type)
        return found.schema if found is not None else _CORE[resource_type]

    def extensions(self, resource_type: str) -> Mapping[str, bool]:
        """Extension URNs of ``resource_type`` -> required."""
        found = self.resource_types.get(resource_type)
        return found.extensions if found is not None else {}

    def attributes(self, resource_type: str) -> Iterator[DeclaredAttribute]:
        """Every declared attribute and sub-attribute of ``resource_type``."""
        core = self.core(resource_type)
        yield from _walk(resource_type, "", COMMON_ATTRIBUTES, None, prefix="")
        core_schema = self.schemas.get(core)
        if core_schema is not None:
            yield from _walk(resource_type, core, core_schema.attributes, None, prefix="")
        for urn in self.extensions(resource_type):
            schema = self.schemas.get(urn)
            if schema is not None:
                yield from _walk(resource_type, urn, schema.attributes, urn, prefix=f"{urn}:")

    def attribute(self, resource_type: str, path: str) -> DeclaredAttribute | None:
        """The declared attribute at ``path`` (case-insensitive names; the first declaration wins)."""
        key = path.lower()
        for found in self.attributes(resource_type):
            if found.path.lower() == key:
                return found
        return None

    def user_name_case_exact(self) -> bool:
        """Whether ``userName`` is declared caseExact (RFC 7643 default: false)."""
        found = self.attribute("User", "userName")
        return bool(found and found.attribute.case_exact)


def _walk(
    resource_type: str,
    schema: str,
    attributes: tuple[Attribute, ...],
    parent: str | None,
    *,
    prefix: str,
) -> Iterator[DeclaredAttribute]:
    for attribute in attributes:
        path = f"{prefix}{attribute.name}"
        yield DeclaredAttribute(resource_type, schema, path, parent, attribute, in_multi=False)
        for sub in attribute.sub_attributes:
            yield DeclaredAttribute(
                resource_type, schema, f"{path}.{sub.name}", path, sub, in_multi=attribute.multi_valued
            )


def json_path(path: str, urn: str | None) -> str:
    """DuckDB JSON path of a notation path (``name.givenName``; ``<urn>:manager.value``)."""
    parts: list[str] = []
    rest = path
    if urn is not None:
        parts.append(urn)
        rest = path[len(urn) + 1 :]
    parts.extend(rest.split("."))
    return "$" + "".join(f'."{part}"' for part in parts)


def declared_for(capabilities: Capabilities | None) -> Declared:
    """The declared model of a system: its served /Schemas and /ResourceTypes over RFC 7643."""
    schemas: dict[str, Schema] = dict(BUILTIN_SCHEMAS)
    resource_types: dict[str, ResourceTypeDef] = dict(BUILTIN_RESOURCE_TYPES)
    advertised: Mapping[str, Any] = capabilities.advertised if capabilities is not None else {}
    served = [parse_schema(s) for s in advertised.get("schemas") or [] if isinstance(s, Mapping)]
    served_schemas = tuple(s for s in served if s is not None)
    for schema in served_schemas:
        schemas[schema.id] = schema
    served_types = [
        parse_resource_type(r) for r in advertised.get("resource_types") or [] if isinstance(r, Mapping)
    ]
    typed = {r.name: r for r in served_types if r is not None and r.name in RESOURCE_TYPES}
    if typed:
        for name in RESOURCE_TYPES:
            if name in typed:
                resource_types[name] = typed[name]
    elif served_schemas:
        extra = {s.id: False for s in served_schemas if s.id not in (CORE_USER, CORE_GROUP)}
        for name, builtin in BUILTIN_RESOURCE_TYPES.items():
            resource_types[name] = ResourceTypeDef(name, builtin.schema, {**builtin.extensions, **extra})
    if served_schemas or typed:
        when = capabilities.discovered_at if capabilities is not None else None
        source = f"server /Schemas{' and /ResourceTypes' if typed else ''} (discovered {when or 'earlier'})"
    else:
        source = "rfc7643"
    return Declared(schemas, resource_types, source, tuple(s.id for s in served_schemas))


def attributes_table(declared: Declared) -> pa.Table:
    """One row per declared attribute of User and Group (see :data:`DECLARED_ATTRIBUTES`)."""
    rows = []
    for resource_type in RESOURCE_TYPES:
        seen: set[str] = set()
        for found in declared.attributes(resource_type):
            if found.path.lower() in seen:  # a server re-declaring a common attribute: the first one counts
                continue
            seen.add(found.path.lower())
            a = found.attribute
            rows.append(
                {
                    "resource_type": resource_type,
                    "schema": found.schema or declared.core(resource_type),
                    "path": found.path,
                    "key": found.path.lower(),
                    "parent_key": found.parent.lower() if found.parent else None,
                    "type": a.type,
                    "multi_valued": a.multi_valued,
                    "case_exact": a.case_exact,
                    "mutability": a.mutability,
                    "returned": a.returned,
                    "required": a.required,
                    "in_multi": found.in_multi,
                    "canonical_values": list(a.canonical_values),
                }
            )
    return pa.Table.from_pylist(rows, schema=DECLARED_ATTRIBUTES)


def schemas_table(declared: Declared) -> pa.Table:
    """One row per schema URN a resource type may carry: its core schema and its extensions."""
    rows = []
    for resource_type in RESOURCE_TYPES:
        core = declared.core(resource_type)
        rows.append(
            {
                "resource_type": resource_type,
                "schema": core,
                "key": core.lower(),
                "role": "core",
                "required": True,
            }
        )
        for urn, required in declared.extensions(resource_type).items():
            rows.append(
                {
                    "resource_type": resource_type,
                    "schema": urn,
                    "key": urn.lower(),
                    "role": "extension",
                    "required": required,
                }
            )
    return pa.Table.from_pylist(rows, schema=DECLARED_SCHEMAS)
