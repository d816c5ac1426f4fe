"""The syntax tree of a SCIM filter (RFC 7644 §3.4.2.2).

Nodes are frozen dataclasses. Positions (0-based offsets into the filter text) are kept
for error messages but take no part in equality, so two filters that differ only in
spacing compare equal. :func:`to_text` renders a tree back to a filter that parses to
an equal tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = [
    "OPERATORS",
    "And",
    "AttrPath",
    "Compare",
    "Filter",
    "Literal",
    "Node",
    "Not",
    "Or",
    "Present",
    "ValuePath",
    "to_text",
]

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")

Literal = str | bool | int | float | None
"""A compValue: JSON string, boolean, number or null."""


@dataclass(frozen=True)
class AttrPath:
    """``[URN ":"] attr ["." sub_attr]`` as written (names are matched case-insensitively later)."""

    uri: str | None
    attr: str
    sub_attr: str | None = None
    position: int = field(default=0, compare=False)

    def text(self) -> str:
        """The path as a filter would spell it."""
        name = self.attr if self.sub_attr is None else f"{self.attr}.{self.sub_attr}"
        return name if self.uri is None else f"{self.uri}:{name}"


@dataclass(frozen=True)
class Compare:
    """``path op value`` with ``op`` one of :data:`OPERATORS` (lower case)."""

    path: AttrPath
    op: str
    value: Literal
    op_position: int = field(default=0, compare=False)
    value_position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Present:
    """``path pr``."""

    path: AttrPath
    op_position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All ``terms`` hold (a chain of ``and`` is one node)."""

    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one of ``terms`` holds (a chain of ``or`` is one node)."""

    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``not (term)``."""

    term: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ValuePath:
    """``path[inner]``: some value of a multi-valued attribute satisfies ``inner``.

    Attribute paths inside ``inner`` name sub-attributes of ``path``.
    """

    path: AttrPath
    inner: Node


Node = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class Filter:
    """A parsed filter: the text it came from and its tree."""

    text: str
    root: Node

    def __str__(self) -> str:
        return self.text


def _literal(value: Literal) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def to_text(node: Node) -> str:
    """Render ``node`` as filter text (fully parenthesised where precedence needs it)."""
    if isinstance(node, Compare):
        return f"{node.path.text()} {node.op} {_literal(node.value)}"
    if isinstance(node, Present):
        return f"{node.path.text()} pr"
    if isinstance(node, Not):
        return f"not ({to_text(node.term)})"
    if isinstance(node, ValuePath):
        return f"{node.path.text()}[{to_text(node.inner)}]"
    word = " and " if isinstance(node, And) else " or "
    parts = []
    for term in node.terms:
        text = to_text(term)
        parts.append(f"({text})" if isinstance(term, And | Or) else text)
    return word.join(parts)
