"""Did a resource change? Its content compared as RFC 7643 says: the one definition.

A resource's *content* is the whole resource (its ``raw`` JSON) without ``meta`` (and
``id``, the key both sides are matched on). Two versions of a resource have the same
content when, attribute by attribute:

- names compare case-insensitively (RFC 7643 §2.1), extension URNs too;
- absent, ``null``, ``""``, ``[]`` and ``{}`` are all *unassigned* and equal (§2.5); a complex
  value whose sub-attributes are all unassigned is unassigned;
- strings of an attribute whose declared ``caseExact`` is false compare case-insensitively;
  ``binary`` values are always case exact (§2.3.6);
- multi-valued attributes compare as sets (order and repeats do not count), and so does
  ``schemas``, whose URNs compare case-insensitively;
- ``dateTime`` values compare as instants (``…+02:00`` equals the same instant in ``Z``);
- a JSON type change is a change (``"true"`` is not ``true``; ``1`` and ``1.0`` are one number).

*Declared* means: the server's own /Schemas (and /ResourceTypes) as stored by ``recon
discover``, else RFC 7643's core User, Group and Enterprise User definitions (see
:func:`recon.validate.declared.declared_for`), else RFC 7643's default for an attribute
nobody declares: a string with ``caseExact`` false.

:class:`ContentRules` holds those declarations for one system; :func:`changed_paths` says
which attribute paths differ between two versions (empty: same content). Paths are RFC 7643
notation: ``phoneNumbers`` (a multi-valued attribute, compared whole), ``name.givenName``
(a sub-attribute of a singular complex one), ``<extension URN>:costCenter``. ``recon
deltas`` asks this module, and so does every other place that asks whether a resource
changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from recon.capabilities import Capabilities
from recon.validate.declared import Declared, declared_for
from recon.validate.rfc7643 import BUILTIN_SCHEMAS, Attribute

__all__ = [
    "GROUP_MEMBERS",
    "NOT_JSON",
    "ContentRules",
    "canonical_content",
    "changed_paths",
    "content_rules",
    "same_content",
]

GROUP_MEMBERS = "members"  # a group's members: compared as a set of (value, type) through memberships
NOT_JSON = "(raw is not a JSON object)"  # the path reported when a version cannot be read
_MAX_DEPTH = 8  # deeper undeclared nesting is compared as canonical JSON text
_SKIPPED = frozenset({"meta", "id"})
_SKIPPED_IN_GROUPS = _SKIPPED | {GROUP_MEMBERS}  # a group's member list can be 100,000 values long
_SCHEMAS = "schemas"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Canon = tuple[Any, ...]  # a canonical value: (type tag, payload); hashable


@dataclass(frozen=True)
class _Node:
    """What is declared about one attribute name at one place (None: undeclared)."""

    attribute: Attribute | None
    subs: Mapping[str, _Node]  # lower-case sub-attribute name -> its node
    case_exact: bool = False
    date_time: bool = False
    singular_complex: bool = True  # a JSON object here is split into sub-attribute paths


_UNDECLARED = _Node(None, {})


@dataclass(frozen=True)
class ContentRules:
    """The declarations content comparison uses for one system, and where they came from."""

    source: str  # "rfc7643" or "server /Schemas (discovered …)"
    core: Mapping[str, Mapping[str, _Node]]  # resource type -> lower name -> node
    extensions: Mapping[str, Mapping[str, Mapping[str, _Node]]]  # type -> lower URN -> lower name -> node
    spelling: Mapping[str, str]  # lower path -> declared spelling
    served: tuple[str, ...] = ()  # the schema URNs the server's /Schemas declared

    @property
    def described(self) -> str:
        """Which schema source decided caseExact, in words."""
        if self.source == "rfc7643":
            return (
                "RFC 7643 core and enterprise definitions (no /Schemas stored by recon discover); "
                "caseExact=false where undeclared"
            )
        builtin = [urn for urn in BUILTIN_SCHEMAS if urn not in self.served]
        rest = f"; RFC 7643 for {', '.join(builtin)}" if builtin else ""
        return f"{self.source} for {', '.join(self.served)}{rest}; caseExact=false where undeclared"


def _node(attribute: Attribute) -> _Node:
    return _Node(
        attribute,
        {s.name.lower(): _node(s) for s in attribute.sub_attributes},
        case_exact=attribute.case_exact or attribute.type == "binary",
        date_time=attribute.type == "dateTime",
        singular_complex=attribute.type == "complex" and not attribute.multi_valued,
    )


def content_rules(declared: Declared | Capabilities | None = None) -> ContentRules:
    """Content rules from a system's declarations (or its capabilities; None: RFC 7643 only)."""
    if not isinstance(declared, Declared):
        declared = declared_for(declared)
    core: dict[str, dict[str, _Node]] = {}
    extensions: dict[str, dict[str, dict[str, _Node]]] = {}
    spelling: dict[str, str] = {}
    for resource_type in ("User", "Group"):
        nodes: dict[str, _Node] = {}
        exts: dict[str, dict[str, _Node]] = {}
        for found in declared.attributes(resource_type):
            if found.parent is not None and found.parent != found.schema:
                continue  # a sub-attribute: reached through its parent's node
            name = found.attribute.name.lower()
            if found.parent is None:
                nodes.setdefault(name, _node(found.attribute))
            else:
                exts.setdefault(found.schema.lower(), {}).setdefault(name, _node(found.attribute))
            spelling.setdefault(found.path.lower(), found.path)
            for sub in found.attribute.sub_attributes:
                spelling.setdefault(f"{found.path}.{sub.name}".lower(), f"{found.path}.{sub.name}")
        for urn in declared.extensions(resource_type):
            exts.setdefault(urn.lower(), {})
            spelling.setdefault(urn.lower(), urn)
        core[resource_type] = nodes
        extensions[resource_type] = exts
    return ContentRules(declared.source, core, extensions, spelling, declared.served_schemas)


# -- canonical values ---------------------------------------------------------------------
def _scalar(value: Any, node: _Node) -> Canon | None:
    """A non-container JSON value as a tagged canonical value (None: unassigned)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        number = int(value) if isinstance(value, float) and value.is_integer() else value
        return ("n", number)
    if isinstance(value, str):
        if value == "":
            return None
        if node.date_time:
            instant = _instant(value)
            if instant is not None:
                return ("t", instant)
        return ("s", value if node.case_exact else value.lower())
    return ("?", repr(value))


def _instant(text: str) -> int | None:
    """Microseconds since 1970 of an xsd:dateTime (no offset: UTC); None if it is not one."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MICRO


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _value(value: Any, node: _Node, depth: int) -> Canon | None:
    """Any JSON value of an attribute as a canonical value (None: unassigned)."""
    if isinstance(value, list):
        if depth > _MAX_DEPTH:
            return _opaque(value)
        items = frozenset(c for c in (_element(v, node, depth + 1) for v in value) if c is not None)
        return ("a", items) if items else None
    if isinstance(value, dict):
        if depth > _MAX_DEPTH:
            return _opaque(value)
        fields = _object(value, node.subs, depth + 1)
        return ("o", frozenset(fields.items())) if fields else None
    return _scalar(value, node)


def _element(value: Any, node: _Node, depth: int) -> Canon | None:
    """One element of a multi-valued attribute."""
    if isinstance(value, dict):
        fields = _object(value, node.subs, depth + 1)
        return ("o", frozenset(fields.items())) if fields else None
    if isinstance(value, list):
        return _opaque(value) if depth > _MAX_DEPTH else _value(value, node, depth + 1)
    return _scalar(value, node)


def _object(value: Mapping[str, Any], subs: Mapping[str, _Node], depth: int) -> dict[str, Canon]:
    """The assigned fields of a complex value, names in lower case."""
    fields: dict[str, Canon] = {}
    for key, sub in value.items():
        name = key.lower()
        canon = _value(sub, subs.get(name, _UNDECLARED), depth)
        if canon is not None:
            fields[name] = canon
    return fields


def _opaque(value: Any) -> Canon:
    """Nesting deeper than any schema declares: the JSON text with sorted keys, exactly.

    Deeper than orjson writes (255 levels), a value is never equal to anything: reporting a
    change that might not be one is safer than hiding one.
    """
    try:
        return ("j", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        return ("deep", object())


def _schemas(value: Any) -> Canon | None:
    """``schemas``: a set of URNs compared case-insensitively."""
    if isinstance(value, list):
        items = frozenset(
            ("s", v.lower()) if isinstance(v, str) else _scalar(v, _UNDECLARED)
            for v in value
            if v is not None and v != ""
        )
        return ("a", items) if items else None
    return _value(value, _UNDECLARED, 0)


def canonical_content(
    resource: Mapping[str, Any], resource_type: str, rules: ContentRules
) -> dict[str, Canon]:
    """The content of one resource: lower-case attribute path -> canonical value.

    Singular complex attributes are split into their sub-attributes (``name.givenname``);
    multi-valued ones are one path. Extension attributes are keyed ``<urn>:<name>``. A
    group's ``members`` are left out (their set is compared through the memberships).
    """
    out: dict[str, Canon] = {}
    for name, value in _top_level(resource, resource_type).items():
        _attribute_content(out, name, value, resource_type, rules, resource)
    return out


def _urns(resource: Mapping[str, Any]) -> set[str]:
    listed = resource.get("schemas")
    return {s.lower() for s in listed if isinstance(s, str)} if isinstance(listed, list) else set()


def _top_level(resource: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    """Lower-case top-level name -> value, without what is not content."""
    return {
        name: value
        for name, value in ((key.lower(), value) for key, value in resource.items())
        if name not in _SKIPPED and not (resource_type == "Group" and name == GROUP_MEMBERS)
    }


def _attribute_content(
    out: dict[str, Canon],
    name: str,
    value: Any,
    resource_type: str,
    rules: ContentRules,
    resource: Mapping[str, Any],
) -> None:
    """Add the canonical content of one top-level attribute (or extension object) to ``out``.

    An object is an extension's block when its name is a declared extension, starts with
    ``urn:`` or is listed in the resource's ``schemas``.
    """
    if name == _SCHEMAS:
        canon = _schemas(value)
        if canon is not None:
            out[name] = canon
        return
    extensions = rules.extensions.get(resource_type, {})
    if isinstance(value, dict) and (name in extensions or name.startswith("urn:") or name in _urns(resource)):
        declared = extensions.get(name, {})
        for sub_key, sub in value.items():
            _put(out, f"{name}:{sub_key.lower()}", sub, declared.get(sub_key.lower(), _UNDECLARED))
        return
    _put(out, name, value, rules.core.get(resource_type, {}).get(name, _UNDECLARED))


def _put(out: dict[str, Canon], path: str, value: Any, node: _Node) -> None:
    if isinstance(value, dict) and node.singular_complex:
        for key, sub in value.items():
            canon = _value(sub, node.subs.get(key.lower(), _UNDECLARED), 1)
            if canon is not None:
                out[f"{path}.{key.lower()}"] = canon
        return
    canon = _value(value, node, 0)
    if canon is not None:
        out[path] = canon


def _parse(raw: str | bytes | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if raw is None or isinstance(raw, Mapping):
        return raw
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def changed_paths(
    base: str | bytes | Mapping[str, Any] | None,
    head: str | bytes | Mapping[str, Any] | None,
    resource_type: str,
    rules: ContentRules,
) -> list[str]:
    """The attribute paths whose content differs between two versions of one resource.

    Each side is the resource's JSON text (``raw``) or the parsed object. Returns the paths
    in RFC 7643 notation (declared spelling where declared, else the head's), sorted; an
    empty list when the content is the same. A side that is not a JSON object makes the
    answer ``[NOT_JSON]`` unless both texts are identical.
    """
    if base == head and base is not None:
        return []
    b, h = _parse(base), _parse(head)
    if b is None or h is None:
        return [] if b is None and h is None and base == head else [NOT_JSON]
    # attributes serialised identically have the same content: canonicalise only the others
    if list(b) == list(h):  # the usual case: the same names in the same order
        skipped = _SKIPPED_IN_GROUPS if resource_type == "Group" else _SKIPPED
        differ = [k for k in b if k not in skipped and not _same_text(b[k], h[k])]
        b_top = _top_level({k: b[k] for k in differ}, resource_type)
        h_top = _top_level({k: h[k] for k in differ}, resource_type)
    else:
        b_top, h_top = _top_level(b, resource_type), _top_level(h, resource_type)
    before: dict[str, Canon] = {}
    after: dict[str, Canon] = {}
    for name in b_top.keys() | h_top.keys():
        b_value, h_value = b_top.get(name), h_top.get(name)
        if b_value is not None and h_value is not None and _same_text(b_value, h_value):
            continue
        if b_value is not None:
            _attribute_content(before, name, b_value, resource_type, rules, b)
        if h_value is not None:
            _attribute_content(after, name, h_value, resource_type, rules, h)
    differing = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    if not differing:
        return []
    declared = [rules.spelling.get(p) for p in differing]
    if all(declared):
        return sorted(declared)  # type: ignore[arg-type]
    spelled = _spellings(h, b)
    return sorted(rules.spelling.get(p) or spelled.get(p, p) for p in differing)


def same_content(
    base: Mapping[str, Any], head: Mapping[str, Any], resource_type: str, rules: ContentRules
) -> bool:
    """``not changed_paths(base, head, resource_type, rules)`` for two parsed versions, without
    naming the paths that differ (sorting and spelling them is most of the cost when they do).

    The same decision: equal objects (Python's ``==``, as :func:`changed_paths` asks first) are
    the same content; otherwise the canonical contents are compared whole. :func:`changed_paths`
    leaves out the attributes both sides serialise identically, whose canonical values are equal
    anyway (an attribute too deep to serialise is unequal to everything in both).
    """
    if base == head:
        return True
    return canonical_content(base, resource_type, rules) == canonical_content(head, resource_type, rules)


def _same_text(a: Any, b: Any) -> bool:
    """Whether two JSON values serialise identically (``True`` and ``1`` do not)."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:
        try:
            return a == b and orjson.dumps(a) == orjson.dumps(b)  # == alone takes True for 1
        except (orjson.JSONEncodeError, RecursionError):
            return False  # too deep to tell here: compared (and reported) attribute by attribute
    return bool(a == b)


def _spellings(*resources: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case path -> the spelling a resource used (for undeclared attributes)."""
    names: dict[str, str] = {}
    for resource in resources:
        for key, value in resource.items():
            names.setdefault(key.lower(), key)
            if isinstance(value, dict):
                sep = ":" if key.lower().startswith("urn:") else "."
                for sub in value:
                    names.setdefault(f"{key}{sep}{sub}".lower(), f"{key}{sep}{sub}")
    return names
