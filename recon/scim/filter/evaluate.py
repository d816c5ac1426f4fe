"""Evaluate a filter on one SCIM resource (a parsed JSON object), in plain Python.

This is the oracle the SQL compiler is tested against, written straight from the rules
in :mod:`recon.scim.filter.semantics` and sharing only the binding (attribute
resolution and type checks) with the compiler. It reads the resource as a server
would: attribute values from the JSON, dateTimes parsed to UTC.

Known differences from the SQL over the normalised tables, which only pathological data
shows: the normalised tables coerce ``"true"``/``"false"`` strings to booleans and
numbers in string attributes to strings, and keep only value/type/primary of emails
(so an email with nothing but a ``display`` is present here and not there).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from recon.scim.filter.ast import And, Filter, Node, Not, Or, Present, ValuePath
from recon.scim.filter.attributes import CORE_GROUP, DEFAULT_CATALOG, Catalog, Resolved
from recon.scim.filter.semantics import (
    BoundCompare,
    bind_compare,
    bind_present,
    bind_value_path,
    fold,
    parse_datetime,
)

__all__ = ["matches", "resource_type_of"]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_MISSING = object()


def resource_type_of(resource: dict[str, Any]) -> str:
    """``Group`` when the resource carries the core Group schema (or says so in meta), else ``User``."""
    schemas = resource.get("schemas")
    if isinstance(schemas, list) and CORE_GROUP in schemas:
        return "Group"
    meta = resource.get("meta")
    if isinstance(meta, dict) and meta.get("resourceType") == "Group":
        return "Group"
    return "User"


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return len(value) > 0
    if isinstance(value, dict):
        return any(_member_present(m) for m in value.values())
    return True


def _member_present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _follow(start: Any, keys: tuple[str, ...]) -> list[Any]:
    nodes = [start]
    for key in keys:
        found: list[Any] = []
        for node in nodes:
            child = node.get(key) if isinstance(node, dict) else None
            if isinstance(child, list):
                found.extend(child)
            else:
                found.append(child)
        nodes = found
    return nodes


def _test(value: Any, bc: BoundCompare) -> bool:
    if bc.kind == "string":
        if not isinstance(value, str):
            return False
        left, right = (value, bc.value) if bc.case_exact else (fold(value), fold(bc.value))
        if bc.op == "co":
            return bool(right in left)
        if bc.op == "sw":
            return bool(left.startswith(right))
        if bc.op == "ew":
            return bool(left.endswith(right))
        return _ORDER[bc.op](left, right)
    if bc.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        try:
            number = float(value)
        except OverflowError:
            number = float("inf") if value > 0 else float("-inf")
        return _ORDER[bc.op](number, bc.value)
    if bc.kind == "boolean":
        return isinstance(value, bool) and value == bc.value
    if not isinstance(value, str):
        return False
    instant = parse_datetime(value)
    return instant is not None and _ORDER[bc.op](instant, bc.value)


_Plan = dict[tuple[int, int], Any]
_PLANS: dict[tuple[int, str, int], tuple[Filter, Catalog, _Plan]] = {}
_PLAN_CACHE_SIZE = 64


def _plan(flt: Filter, resource_type: str, catalog: Catalog) -> _Plan:
    """Every node of ``flt`` bound once (raises the first FilterSyntaxError, in text order).

    Keyed by (node id, id of the enclosing value path or 0). Plans are cached per filter
    object, so evaluating one filter over many resources binds it once.
    """
    key = (id(flt), resource_type, id(catalog))
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is flt and cached[1] is catalog:
        return cached[2]
    plan: _Plan = {}

    def walk(node: Node, parent: Resolved | None, context: int) -> None:
        if isinstance(node, And | Or):
            for term in node.terms:
                walk(term, parent, context)
        elif isinstance(node, Not):
            walk(node.term, parent, context)
        elif isinstance(node, ValuePath):
            resolved = bind_value_path(flt, node, resource_type, catalog)
            plan[(id(node), context)] = resolved
            walk(node.inner, replace(resolved, list_column=None, list_fields=()), id(node))
        elif isinstance(node, Present):
            plan[(id(node), context)] = bind_present(flt, node, resource_type, catalog, parent)
        else:
            plan[(id(node), context)] = bind_compare(flt, node, resource_type, catalog, parent)

    walk(flt.root, None, 0)
    if len(_PLANS) >= _PLAN_CACHE_SIZE:
        _PLANS.clear()
    _PLANS[key] = (flt, catalog, plan)
    return plan


class _Evaluator:
    def __init__(self, plan: _Plan, resource: dict[str, Any]) -> None:
        self.plan = plan
        self.resource = resource

    def values(self, resolved: Resolved, element: Any, *, implicit_value: bool) -> list[Any]:
        if element is _MISSING:
            found = _follow(self.resource, resolved.keys)
        else:
            found = _follow(element, resolved.keys[-1:])
        if implicit_value:
            found = [v.get("value") if isinstance(v, dict) else v for v in found]
        return [v for v in found if _present(v)]

    def node(self, node: Node, context: int = 0, element: Any = _MISSING) -> bool:
        if isinstance(node, And):
            return all(self.node(t, context, element) for t in node.terms)
        if isinstance(node, Or):
            return any(self.node(t, context, element) for t in node.terms)
        if isinstance(node, Not):
            return not self.node(node.term, context, element)
        bound = self.plan[(id(node), context)]
        if isinstance(node, ValuePath):
            elements = self.values(bound, _MISSING, implicit_value=False)
            return any(self.node(node.inner, id(node), e) for e in elements)
        if isinstance(node, Present):
            if bound.resolved.constant is not None:
                return True
            return len(self.values(bound.resolved, element, implicit_value=False)) > 0
        bc: BoundCompare = bound
        if bc.kind == "null":
            resolved = bc.bound.resolved
            present = (
                resolved.constant is not None or len(self.values(resolved, element, implicit_value=False)) > 0
            )
            return present if bc.op == "ne" else not present
        if bc.op == "ne":
            return not self.compare(replace(bc, op="eq"), element)
        return self.compare(bc, element)

    def compare(self, bc: BoundCompare, element: Any) -> bool:
        resolved = bc.bound.resolved
        if resolved.constant is not None:
            return _test(resolved.constant, bc)
        values = self.values(resolved, element, implicit_value=bc.bound.implicit_value)
        return any(_test(v, bc) for v in values)


def matches(
    flt: Filter, resource: dict[str, Any], resource_type: str | None = None, catalog: Catalog | None = None
) -> bool:
    """Whether ``resource`` (a SCIM User or Group as JSON) satisfies ``flt``.

    Raises :class:`recon.errors.FilterSyntaxError` for a filter that is invalid for the
    resource type (the same ones the SQL compiler refuses), whatever the resource.
    """
    kind = resource_type or resource_type_of(resource)
    plan = _plan(flt, kind, catalog or DEFAULT_CATALOG)
    return _Evaluator(plan, resource).node(flt.root)
