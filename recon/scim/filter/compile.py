"""Compile a filter's tree to a DuckDB SQL predicate over the normalised tables.

Why this module writes SQL text although recon's rule is "Python never builds SQL from
user text": a filter is a program, so a compiler must emit SQL for it. What it emits is
safe and fixed in shape:

- every literal of the filter (strings, numbers, dateTimes, booleans) and every JSON path
  built from an attribute name is a bound ``$fN`` parameter, never spliced into the text;
- every attribute reference maps to a column name from a fixed whitelist
  (:mod:`recon.scim.filter.attributes`) or to ``raw`` read through a bound JSON path;
- everything else is fixed template text (operators, ``lower()``, ``list_filter``...).

The predicate is evaluated over one row of ``users`` (CONTRACT §3) or of groups with a
``members`` list column (struct value/type, see ``sql/filter_groups_with_members.sql``).
It is never NULL, so ``not`` is plain negation; the meaning of every node is the one
documented in :mod:`recon.scim.filter.semantics`, which the Python evaluator
(:mod:`recon.scim.filter.evaluate`) implements independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from recon.scim.filter.ast import And, Compare, Filter, Node, Not, Or, Present, ValuePath
from recon.scim.filter.attributes import DEFAULT_CATALOG, Catalog, Resolved
from recon.scim.filter.semantics import Bound, BoundCompare, bind_compare, bind_present, bind_value_path, fold

__all__ = ["CompiledFilter", "compile_filter", "compile_groups_filter", "compile_users_filter"]

_SQL_OP = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_STRING_FN = {"co": "contains", "sw": "starts_with", "ew": "ends_with"}
_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"


@dataclass(frozen=True)
class CompiledFilter:
    """A SQL boolean expression over one row and the values of its ``$`` parameters."""

    predicate: str
    params: dict[str, Any]
    resource_type: str

    @property
    def relation(self) -> str:
        """The view the predicate reads: ``filter_users`` or ``filter_groups`` (with ``members``)."""
        return "filter_groups" if self.resource_type == "Group" else "filter_users"

    def select_ids_sql(self) -> str:
        """``SELECT id`` of the rows of :attr:`relation` that satisfy the filter (fixed text + predicate)."""
        return f"SELECT id FROM {self.relation} WHERE {self.predicate}"


@dataclass
class _Compiler:
    flt: Filter
    resource_type: str
    catalog: Catalog
    params: dict[str, Any] = field(default_factory=dict)
    lambdas: int = 0

    def param(self, value: Any) -> str:
        name = f"f{len(self.params) + 1}"
        self.params[name] = value
        return f"${name}"

    def var(self) -> str:
        self.lambdas += 1
        return f"x{self.lambdas}"

    def json_key(self, key: str) -> str:
        return self.param('$."' + key + '"')

    # -- nodes ----------------------------------------------------------------------------
    def node(self, node: Node, parent: Resolved | None = None, element: str | None = None) -> str:
        if isinstance(node, And | Or):
            word = " AND " if isinstance(node, And) else " OR "
            return "(" + word.join(self.node(t, parent, element) for t in node.terms) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.term, parent, element)})"
        if isinstance(node, ValuePath):
            return self.value_path(node)
        if isinstance(node, Present):
            bound = bind_present(self.flt, node, self.resource_type, self.catalog, parent)
            return self.present(bound, element)
        bound_compare = bind_compare(self.flt, node, self.resource_type, self.catalog, parent)
        return self.compare(bound_compare, element)

    def value_path(self, node: ValuePath) -> str:
        resolved = bind_value_path(self.flt, node, self.resource_type, self.catalog)
        var = self.var()
        if resolved.list_column is not None and _inner_fits(node.inner, resolved):
            inner = self.node(node.inner, resolved, var)
            elements = self.list_elements(resolved)
            return f"coalesce(len(list_filter({elements}, lambda {var}: {inner})) > 0, false)"
        elements = self.json_elements(resolved.keys, implicit_value=False)
        inner = self.node(node.inner, replace(resolved, list_column=None, list_fields=()), var)
        return f"coalesce(len(list_filter({elements}, lambda {var}: {inner})) > 0, false)"

    # -- presence -------------------------------------------------------------------------
    def present(self, bound: Bound, element: str | None) -> str:
        resolved = bound.resolved
        if resolved.constant is not None:
            return "TRUE"
        if element is not None and resolved.list_field is not None:
            return _scalar_present(f"{element}.{resolved.list_field}", resolved)
        if element is None and resolved.column is not None:
            return _scalar_present(resolved.column, resolved)
        if element is None and resolved.list_column is not None and len(resolved.keys) == 1:
            return f"coalesce(len({self.list_elements(resolved)}) > 0, false)"
        if element is None and resolved.list_column is not None and resolved.list_field is not None:
            var = self.var()
            test = _scalar_present(f"{var}.{resolved.list_field}", resolved)
            return f"coalesce(len(list_filter({resolved.list_column}, lambda {var}: {test})) > 0, false)"
        values = self.json_values(resolved, element, implicit_value=False)
        return f"(len({values}) > 0)"

    def list_elements(self, resolved: Resolved) -> str:
        """The present elements of a list-of-structs column (some field holds a value)."""
        var = self.var()
        fields = " OR ".join(
            f"nullif(CAST({var}.{f} AS VARCHAR), '') IS NOT NULL" for f in resolved.list_fields
        )
        return f"list_filter({resolved.list_column}, lambda {var}: {fields})"

    # -- comparison -----------------------------------------------------------------------
    def compare(self, bc: BoundCompare, element: str | None) -> str:
        if bc.kind == "null":
            present = self.present(bc.bound, element)
            return present if bc.op == "ne" else f"(NOT {present})"
        if bc.op == "ne":
            equal = BoundCompare(bc.bound, "eq", bc.kind, bc.value, bc.case_exact)
            return f"(NOT {self.compare(equal, element)})"
        resolved = bc.bound.resolved
        if resolved.constant is not None:
            return "TRUE" if _constant_matches(resolved.constant, bc) else "FALSE"
        if element is not None and resolved.list_field is not None:
            return f"coalesce({self.typed(f'{element}.{resolved.list_field}', bc)}, false)"
        if element is None and resolved.column is not None:
            return f"coalesce({self.typed(resolved.column, bc)}, false)"
        if element is None and resolved.list_column is not None and resolved.list_field is not None:
            var = self.var()
            test = self.typed(f"{var}.{resolved.list_field}", bc)
            return f"coalesce(len(list_filter({resolved.list_column}, lambda {var}: {test})) > 0, false)"
        values = self.json_values(resolved, element, implicit_value=bc.bound.implicit_value)
        var = self.var()
        test = self.typed_json(var, bc)
        return f"coalesce(len(list_filter({values}, lambda {var}: {test})) > 0, false)"

    def typed(self, expr: str, bc: BoundCompare) -> str:
        """``expr op value`` for a typed (flattened) column; may be NULL."""
        if bc.kind == "string":
            return self.string_test(f"nullif({expr}, '')", bc)
        return f"({expr} {_SQL_OP[bc.op]} {self.param(bc.value)})"

    def typed_json(self, var: str, bc: BoundCompare) -> str:
        """``var op value`` for a JSON value ``var``."""
        if bc.kind == "string":
            test = self.string_test(f"json_extract_string({var}, '$')", bc)
            return f"(json_type({var}) = 'VARCHAR' AND {test})"
        if bc.kind == "number":
            number = f"try_cast({var} AS DOUBLE) {_SQL_OP[bc.op]} {self.param(bc.value)}"
            return f"(json_type({var}) IN {_NUMBER_TYPES} AND {number})"
        if bc.kind == "boolean":
            return f"(json_type({var}) = 'BOOLEAN' AND try_cast({var} AS BOOLEAN) = {self.param(bc.value)})"
        cast = f"try_cast(json_extract_string({var}, '$') AS TIMESTAMPTZ)"
        return f"(json_type({var}) = 'VARCHAR' AND {cast} {_SQL_OP[bc.op]} {self.param(bc.value)})"

    def string_test(self, expr: str, bc: BoundCompare) -> str:
        left, right = expr, self.param(bc.value)
        if not bc.case_exact:
            left, right = f"lower({left})", f"lower({right})"
        if bc.op in _STRING_FN:
            return f"{_STRING_FN[bc.op]}({left}, {right})"
        return f"({left} {_SQL_OP[bc.op]} {right})"

    # -- raw JSON -------------------------------------------------------------------------
    def json_elements(self, keys: tuple[str, ...], *, implicit_value: bool, start: str = "raw") -> str:
        """SQL list of the present JSON values found by following ``keys`` from ``start``."""
        current = f"[CAST({start} AS JSON)]"
        for key in keys:
            var = self.var()
            child = _elements(f"json_extract({var}, {self.json_key(key)})")
            current = f"flatten(list_transform({current}, lambda {var}: {child}))"
        if implicit_value:
            var = self.var()
            current = (
                f"list_transform({current}, lambda {var}: "
                f"CASE WHEN json_type({var}) = 'OBJECT' THEN json_extract({var}, '$.value') ELSE {var} END)"
            )
        var = self.var()
        return f"list_filter({current}, lambda {var}: {_json_present(var)})"

    def json_values(self, resolved: Resolved, element: str | None, *, implicit_value: bool) -> str:
        if element is None:
            return self.json_elements(resolved.keys, implicit_value=implicit_value)
        return self.json_elements(resolved.keys[-1:], implicit_value=implicit_value, start=element)


def _elements(expr: str) -> str:
    return f"(CASE WHEN json_type({expr}) = 'ARRAY' THEN json_extract({expr}, '$[*]') ELSE [{expr}] END)"


def _json_present(var: str) -> str:
    member = "m_" + var
    empty_member = (
        f"(json_type({member}) = 'NULL'"
        f" OR (json_type({member}) = 'VARCHAR' AND json_extract_string({member}, '$') = '')"
        f" OR CAST({member} AS VARCHAR) IN ('[]', '{{}}'))"
    )
    return (
        f"({var} IS NOT NULL AND coalesce(CASE json_type({var}) WHEN 'NULL' THEN false "
        f"WHEN 'VARCHAR' THEN json_extract_string({var}, '$') <> '' "
        f"WHEN 'ARRAY' THEN json_array_length({var}) > 0 "
        f"WHEN 'OBJECT' THEN "
        f"len(list_filter(json_extract({var}, '$.*'), lambda {member}: NOT {empty_member})) > 0 "
        f"ELSE true END, false))"
    )


def _scalar_present(expr: str, resolved: Resolved) -> str:
    if resolved.type in ("boolean", "dateTime"):
        return f"({expr} IS NOT NULL)"
    return f"(nullif(CAST({expr} AS VARCHAR), '') IS NOT NULL)"


def _inner_fits(node: Node, resolved: Resolved) -> bool:
    """Whether every path inside ``attr[...]`` is a field of the flattened list column."""
    if isinstance(node, And | Or):
        return all(_inner_fits(t, resolved) for t in node.terms)
    if isinstance(node, Not):
        return _inner_fits(node.term, resolved)
    if isinstance(node, Compare | Present):
        path = node.path
        return path.uri is None and path.sub_attr is None and path.attr.lower() in resolved.list_fields
    return False


def _constant_matches(constant: str, bc: BoundCompare) -> bool:
    if bc.kind != "string":
        return False
    left, right = (constant, str(bc.value)) if bc.case_exact else (fold(constant), fold(str(bc.value)))
    if bc.op == "co":
        return right in left
    if bc.op == "sw":
        return left.startswith(right)
    if bc.op == "ew":
        return left.endswith(right)
    return bool(
        {
            "eq": left == right,
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }[bc.op]
    )


def compile_filter(
    flt: Filter, resource_type: str = "User", catalog: Catalog | None = None
) -> CompiledFilter:
    """Compile ``flt`` for ``User`` or ``Group`` rows; raises FilterSyntaxError for invalid filters."""
    if resource_type not in ("User", "Group"):
        raise ValueError(f"resource_type must be User or Group, not {resource_type!r}")
    compiler = _Compiler(flt, resource_type, catalog or DEFAULT_CATALOG)
    predicate = compiler.node(flt.root)
    return CompiledFilter(predicate, compiler.params, resource_type)


def compile_users_filter(flt: Filter, catalog: Catalog | None = None) -> CompiledFilter:
    """:func:`compile_filter` for rows of ``users``."""
    return compile_filter(flt, "User", catalog)


def compile_groups_filter(flt: Filter, catalog: Catalog | None = None) -> CompiledFilter:
    """:func:`compile_filter` for rows of groups with a ``members`` list column."""
    return compile_filter(flt, "Group", catalog)
