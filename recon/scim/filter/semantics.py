"""What a filter means: the rules shared by the SQL compiler and the Python evaluator.

Both back ends call :func:`bind_compare`, :func:`bind_present` and
:func:`bind_value_path`, so they refuse the same filters with the same message and
position, and agree on how each comparison is typed.

Meaning (RFC 7644 §3.4.2.2, RFC 7643 §2.5):

- An attribute path denotes a list of *present* values: a single-valued attribute has
  0 or 1; a multi-valued one has one per element. Null, ``""``, ``[]`` and objects with
  no present member are not present (RFC 7643 §2.5: unassigned).
- Comparing a multi-valued complex attribute without a sub-attribute compares the
  elements' ``value`` (``emails co "x"`` is ``emails.value co "x"``).
- ``pr`` holds when the list is non-empty; ``eq null`` when it is empty; ``ne null``
  when it is not.
- ``eq co sw ew gt ge lt le v`` hold when some value satisfies them; ``ne v`` holds when
  no value equals ``v`` (so ``ne`` is exactly ``not eq``; an absent attribute is ``ne``
  anything but null).
- Strings compare as strings, case-insensitively unless the attribute is caseExact
  (lower-casing both sides); ordering is by code point. dateTime attributes compare as
  instants (the literal must be a dateTime; one without offset is UTC). Numbers compare
  numerically, booleans by equality. A stored value of another JSON type than the
  literal never matches (and so is ``ne``).
- Refused with :class:`FilterSyntaxError` (what a server answers with 400 invalidFilter):
  a literal of the wrong type for a known attribute, ``gt ge lt le`` on booleans,
  ``co sw ew`` on anything but strings, ``null`` with anything but ``eq``/``ne``,
  comparing a single-valued complex attribute, a sub-attribute of a simple attribute,
  ``[...]`` on a known single-valued attribute, and a schema URN or sub-attribute path
  inside ``[...]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recon.errors import FilterSyntaxError
from recon.scim.filter.ast import And, AttrPath, Compare, Filter, Literal, Node, Not, Or, Present, ValuePath
from recon.scim.filter.attributes import Catalog, Resolved

__all__ = [
    "Bound",
    "BoundCompare",
    "bind_compare",
    "bind_present",
    "bind_value_path",
    "fold",
    "parse_datetime",
    "validate",
]


def fold(text: str) -> str:
    """Lower-case ``text`` for caseExact=false comparisons (the way DuckDB's lower() does)."""
    return text.replace("\u0130", "i").lower()


def parse_datetime(text: str) -> datetime | None:
    """An RFC 3339 / xsd:dateTime string as an aware UTC datetime; None if it is not one."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Bound:
    """An attribute path resolved for one resource type.

    ``implicit_value``: comparisons read the elements' ``value`` (multi-valued complex
    attribute named without a sub-attribute, or an unknown attribute whose values turn
    out to be objects).
    """

    resolved: Resolved
    implicit_value: bool


@dataclass(frozen=True)
class BoundCompare:
    """A comparison ready to run: ``kind`` is string | datetime | number | boolean | null."""

    bound: Bound
    op: str
    kind: str
    value: Any
    case_exact: bool


def _error(flt: Filter, message: str, position: int) -> FilterSyntaxError:
    return FilterSyntaxError(message, flt.text, position)


def _resolve(
    flt: Filter, path: AttrPath, resource_type: str, catalog: Catalog, parent: Resolved | None
) -> Resolved:
    if parent is None:
        return catalog.resolve(resource_type, path.attr, path.sub_attr, path.uri)
    if path.uri is not None or path.sub_attr is not None:
        raise _error(
            flt,
            f"inside {parent.text}[...] name a sub-attribute of {parent.text}, not {path.text()!r}",
            path.position,
        )
    child = parent.top.child(path.attr) if parent.top is not None else None
    name = child.name if child is not None else path.attr
    list_field = name.lower() if parent.list_column and name.lower() in parent.list_fields else None
    return Resolved(
        f"{parent.text}.{name}",
        parent.schema,
        (*parent.keys, name),
        child,
        parent.top,
        list_column=parent.list_column,
        list_field=list_field,
        list_fields=parent.list_fields,
    )


def _bind(
    flt: Filter,
    path: AttrPath,
    resource_type: str,
    catalog: Catalog,
    parent: Resolved | None,
    *,
    comparing: bool,
) -> Bound:
    resolved = _resolve(flt, path, resource_type, catalog, parent)
    top = resolved.top
    if parent is None and path.sub_attr is not None and top is not None and top.type != "complex":
        raise _error(flt, f"{top.name} is a simple attribute and has no sub-attribute", path.position)
    implicit = False
    if comparing and resolved.definition is not None and resolved.definition.type == "complex":
        definition = resolved.definition
        if not definition.multi_valued:
            raise _error(
                flt,
                f"{resolved.text} is a complex attribute: compare one of its sub-attributes",
                path.position,
            )
        value_def = definition.child("value")
        if value_def is None:
            raise _error(flt, f"{resolved.text} has no 'value' sub-attribute to compare", path.position)
        implicit = True
        resolved = Resolved(
            resolved.text,
            resolved.schema,
            resolved.keys,
            value_def,
            resolved.top,
            list_column=resolved.list_column,
            list_field="value" if "value" in resolved.list_fields else None,
            list_fields=resolved.list_fields,
        )
    elif comparing and resolved.definition is None:
        implicit = True  # unknown attribute: objects among its values compare by their 'value'
    return Bound(resolved, implicit)


def bind_present(
    flt: Filter, node: Present, resource_type: str, catalog: Catalog, parent: Resolved | None = None
) -> Bound:
    """Resolve the path of ``attr pr``."""
    return _bind(flt, node.path, resource_type, catalog, parent, comparing=False)


def bind_value_path(flt: Filter, node: ValuePath, resource_type: str, catalog: Catalog) -> Resolved:
    """Resolve the attribute of ``attr[...]``; it must be multi-valued when known."""
    resolved = _resolve(flt, node.path, resource_type, catalog, None)
    definition = resolved.definition
    if definition is not None and not definition.multi_valued:
        raise _error(
            flt,
            f"{resolved.text} is not multi-valued: '[...]' needs a multi-valued attribute",
            node.path.position,
        )
    return resolved


def bind_compare(
    flt: Filter, node: Compare, resource_type: str, catalog: Catalog, parent: Resolved | None = None
) -> BoundCompare:
    """Resolve and type-check ``attr op value``."""
    bound = _bind(flt, node.path, resource_type, catalog, parent, comparing=True)
    definition = bound.resolved.definition
    attr_type = definition.type if definition is not None else None
    value: Literal = node.value
    op = node.op
    name = bound.resolved.text
    if value is None:
        if op not in ("eq", "ne"):
            raise _error(flt, f"null can only be compared with eq or ne, not {op}", node.op_position)
        return BoundCompare(bound, op, "null", None, True)
    if isinstance(value, bool):
        kind = "boolean"
        if op not in ("eq", "ne"):
            raise _error(flt, f"{op} is not defined for booleans (use eq or ne)", node.op_position)
    elif isinstance(value, str):
        kind = "datetime" if attr_type == "dateTime" else "string"
    else:
        kind = "number"
        if op in ("co", "sw", "ew"):
            raise _error(flt, f"{op} compares strings; {name} is compared with a number", node.op_position)
    expected = {
        "boolean": "boolean",
        "dateTime": "datetime",
        "integer": "number",
        "decimal": "number",
        "string": "string",
        "reference": "string",
        "binary": "string",
    }.get(attr_type or "")
    if expected is not None and expected != kind:
        spelled = {"boolean": "true or false", "datetime": "a quoted dateTime", "number": "a number"}
        want = spelled.get(expected, "a quoted string")
        raise _error(flt, f"{name} is {attr_type}: compare it with {want}", node.value_position)
    if attr_type == "boolean" and op not in ("eq", "ne"):
        raise _error(flt, f"{op} is not defined for the boolean {name}", node.op_position)
    if kind == "datetime":
        if op in ("co", "sw", "ew"):
            raise _error(flt, f"{op} is not defined for the dateTime {name}", node.op_position)
        assert isinstance(value, str)
        instant = parse_datetime(value)
        if instant is None:
            raise _error(flt, f"{value!r} is not a dateTime (e.g. 2026-01-31T00:00:00Z)", node.value_position)
        return BoundCompare(bound, op, kind, instant, True)
    if kind == "number":
        return BoundCompare(bound, op, kind, float(value), True)
    case_exact = bound.resolved.case_exact
    return BoundCompare(bound, op, kind, value, case_exact)


def validate(flt: Filter, resource_type: str, catalog: Catalog) -> None:
    """Bind every node of ``flt`` (raising the first FilterSyntaxError, in text order)."""

    def walk(node: Node, parent: Resolved | None) -> None:
        if isinstance(node, And | Or):
            for term in node.terms:
                walk(term, parent)
        elif isinstance(node, Not):
            walk(node.term, parent)
        elif isinstance(node, ValuePath):
            walk(node.inner, bind_value_path(flt, node, resource_type, catalog))
        elif isinstance(node, Present):
            bind_present(flt, node, resource_type, catalog, parent)
        else:
            bind_compare(flt, node, resource_type, catalog, parent)

    walk(flt.root, None)
