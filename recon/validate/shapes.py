"""Turn a resource *shape* (DuckDB ``json_structure`` of its JSON) into observation rows.

A shape is the same for every resource with the same attribute names and JSON types, so
an export of a million users has only a handful; each is walked here once (never once per
resource). ``json_structure`` merges the elements of an array into one, so an observation
inside a multi-valued attribute says what the elements hold together.

Observation columns: ``path`` (RFC 7643 notation, spelled as in the resource: ``emails.type``,
``<urn>:manager.value``), ``parent`` (the enclosing attribute or extension URN, None at the
root), ``observed`` / ``element`` (JSON type of the value and, for arrays, of the elements),
``in_array`` (inside the elements of an array), ``block`` (a top-level key that is a schema
URN: an extension's attribute container).

Observed types: ``string`` · ``boolean`` · ``integer`` · ``decimal`` · ``object`` ·
``array`` · ``null`` (null, or an empty array's elements) · ``empty_object`` (``{}``) ·
``mixed`` (elements or element members of different JSON types).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pyarrow as pa

from recon.errors import InputError

__all__ = ["OBSERVATIONS", "observation_rows", "observations_table"]

OBSERVATIONS = pa.schema(
    [
        ("shape_no", pa.int64()),
        ("path", pa.string()),
        ("parent", pa.string()),
        ("observed", pa.string()),
        ("element", pa.string()),
        ("in_array", pa.bool_()),
        ("block", pa.bool_()),
    ]
)

_SCALARS = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "UBIGINT": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "UHUGEINT": "integer",
    "DOUBLE": "decimal",
    "NULL": "null",
}


def _kind(node: Any, in_array: bool) -> str:
    if isinstance(node, dict):
        return "object"
    if isinstance(node, list):
        return "array"
    if node == "JSON":  # json_structure: an empty object, or members that disagree in type
        return "mixed" if in_array else "empty_object"
    return _SCALARS.get(str(node), "mixed")


def observation_rows(shape_no: int, structure: str) -> Iterator[dict[str, Any]]:
    """Observation rows of one shape (``structure`` is ``json_structure`` of a resource)."""
    try:
        root = orjson.loads(structure)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"shape {shape_no}: not a JSON structure ({exc})") from exc
    if not isinstance(root, dict):
        return
    for key, node in root.items():
        if ":" in key:  # attribute names cannot hold ':' (RFC 7643 §2.1): a schema URN
            observed = _kind(node, False)
            element = (_kind(node[0], True) if node else "null") if isinstance(node, list) else None
            yield _row(shape_no, key, None, observed, element, False, True)
            if isinstance(node, dict):
                for name, child in node.items():
                    yield from _visit(shape_no, child, f"{key}:{name}", key, False)
        else:
            yield from _visit(shape_no, node, key, None, False)


def _visit(
    shape_no: int, node: Any, path: str, parent: str | None, in_array: bool
) -> Iterator[dict[str, Any]]:
    observed = _kind(node, in_array)
    if isinstance(node, list):
        element = node[0] if node else "NULL"
        yield _row(shape_no, path, parent, observed, _kind(element, True), in_array, False)
        if isinstance(element, dict):
            for name, child in element.items():
                yield from _visit(shape_no, child, f"{path}.{name}", path, True)
        return
    yield _row(shape_no, path, parent, observed, None, in_array, False)
    if isinstance(node, dict):
        for name, child in node.items():
            yield from _visit(shape_no, child, f"{path}.{name}", path, in_array)


def _row(
    shape_no: int,
    path: str,
    parent: str | None,
    observed: str,
    element: str | None,
    in_array: bool,
    block: bool,
) -> dict[str, Any]:
    return {
        "shape_no": shape_no,
        "path": path,
        "parent": parent,
        "observed": observed,
        "element": element,
        "in_array": in_array,
        "block": block,
    }


def observations_table(shapes: Iterable[tuple[int, str]]) -> pa.Table:
    """Observation rows of every ``(shape_no, structure)`` as one Arrow table."""
    rows = [row for shape_no, structure in shapes for row in observation_rows(shape_no, structure)]
    return pa.Table.from_pylist(rows, schema=OBSERVATIONS)
