"""The value checks of ``sql/validate_shapes.sql`` as data, from a :class:`Declared` model.

Each check reads one attribute's JSON text (a list of JSON paths is a query parameter, so a
resource is parsed once per list) and, for a multi-valued attribute, one sub-attribute of its
elements:

- ``datetime``: a dateTime value must be an xsd:dateTime string;
- ``canonical``: a value (or element sub-attribute) must be one of ``canonicalValues``,
  compared case-insensitively unless the attribute is caseExact;
- ``nonempty``: a required string must not be ``""``;
- ``primary``: at most one element with ``primary: true``;
- ``required_sub``: every element holds a required sub-attribute.

Element checks cover the sub-attributes RFC 7643 gives multi-valued attributes (``value``,
``display``, ``type``, ``primary``, ``$ref``), and the elements themselves for a multi-valued
attribute of simple values; other sub-attributes are type-checked through the shapes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from recon.validate.declared import RESOURCE_TYPES, Declared

__all__ = ["CHECK_BITS", "VALUE_SPECS", "ValueChecks", "value_checks"]

VALUE_SPECS = pa.schema(
    [
        ("resource_type", pa.string()),
        ("slot", pa.string()),
        ("idx", pa.int64()),
        ("attribute", pa.string()),
        ("check_name", pa.string()),
        ("sub", pa.string()),
        ("allowed", pa.list_(pa.string())),
        ("shown", pa.list_(pa.string())),
        ("case_exact", pa.bool_()),
    ]
)
STANDARD_SUBS = ("value", "display", "type", "primary", "$ref")
_STRINGS = ("string", "reference", "binary", "dateTime")
SCHEMAS_PATH = '$."schemas"'
# the bits of ``validate_shapes``' per-path checks: single-valued (nonempty, datetime, canonical), then
# multi-valued (one primary, canonical element type, other element checks kept as the array's text)
CHECK_BITS = {"nonempty": 1, "datetime": 2, "canonical": 4, "primary": 8, "type": 16, "generic": 32}
_UNUSED_PATH = '$."\u0000recon-unused"'  # a path no resource has, so a list is never empty


@dataclass(frozen=True)
class ValueChecks:
    """The JSON paths to read, the spec table, and the per-resource-type flags of the checks."""

    single_paths: tuple[str, ...]
    multi_paths: tuple[str, ...]
    specs: pa.Table

    def params(self) -> dict[str, Any]:
        """Parameters of ``validate_shapes``: the paths to read, and per resource type the checks of each.

        ``paths`` is ``schemas``, then the single-valued paths, then the multi-valued ones;
        ``checks`` holds, for User then Group, the check bits of each path (see :data:`CHECK_BITS`);
        ``allowed`` and ``case_exact`` are laid out User paths first, then Group paths.
        """
        rows = self.specs.to_pylist()
        paths = [SCHEMAS_PATH, *self.single_paths, *self.multi_paths]
        checks: list[list[int]] = []
        allowed: list[list[str]] = []
        case_exact: list[bool] = []
        for resource_type in RESOURCE_TYPES:
            bits: list[int] = [0]
            allowed.append([""])
            case_exact.append(False)
            for slot, count in (("single", len(self.single_paths)), ("multi", len(self.multi_paths))):
                for idx in range(1, count + 1):
                    here = [
                        r
                        for r in rows
                        if r["resource_type"] == resource_type and r["slot"] == slot and r["idx"] == idx
                    ]
                    canonical = [
                        r for r in here if r["check_name"] == "canonical" and r["sub"] in (None, "type")
                    ]
                    bits.append(_bits(slot, here, bool(canonical)))
                    # never empty, so the parameter is typed VARCHAR[][] (an unused entry is never read)
                    allowed.append(list(canonical[0]["allowed"]) or [""] if canonical else [""])
                    case_exact.append(bool(canonical[0]["case_exact"]) if canonical else False)
            checks.append(bits)
        return {
            "paths": paths,
            "singles": len(self.single_paths),
            "checks": checks,
            "allowed": allowed,
            "case_exact": case_exact,
        }


def _bits(slot: str, rows: list[dict[str, Any]], canonical: bool) -> int:
    """The check bits of one path of one resource type (see :data:`CHECK_BITS`)."""
    names = {r["check_name"] for r in rows}
    if slot == "single":
        wanted = {"nonempty": "nonempty" in names, "datetime": "datetime" in names, "canonical": canonical}
    else:
        wanted = {
            "primary": "primary" in names,
            "type": canonical,
            "generic": any(_generic(r) for r in rows),
        }
    return sum(CHECK_BITS[name] for name, on in wanted.items() if on)


def _generic(row: dict[str, Any]) -> bool:
    """A multi-valued check the row-level pass does not evaluate itself (rare: not in RFC 7643)."""
    return not (row["check_name"] == "primary" or (row["check_name"] == "canonical" and row["sub"] == "type"))


def _allowed(values: tuple[str, ...], case_exact: bool) -> list[str]:
    """The values to compare with: as declared, plus lower-cased when case does not matter.

    Values are lower-cased before a case-insensitive comparison; keeping the declared
    spelling too lets values written exactly as declared (``User``) match without it.
    """
    if case_exact:
        return list(values)
    return sorted({*values, *(v.lower() for v in values)})


def value_checks(declared: Declared) -> ValueChecks:
    """The value checks of every declared User and Group attribute."""
    single: dict[str, int] = {}
    multi: dict[str, int] = {}
    rows: list[dict[str, object]] = []

    def add(resource_type: str, slot: str, path: str, attribute: str, check: str, **extra: object) -> None:
        paths = single if slot == "single" else multi
        idx = paths.setdefault(path, len(paths) + 1)
        rows.append(
            {
                "resource_type": resource_type,
                "slot": slot,
                "idx": idx,
                "attribute": attribute,
                "check_name": check,
                "sub": extra.get("sub"),
                "allowed": extra.get("allowed", []),
                "shown": extra.get("shown", []),
                "case_exact": bool(extra.get("case_exact", False)),
            }
        )

    for resource_type in RESOURCE_TYPES:
        for found in declared.attributes(resource_type):
            a = found.attribute
            if found.in_multi:
                continue
            path = found.json_path
            if not a.multi_valued:
                if a.type == "dateTime":
                    add(resource_type, "single", path, found.path, "datetime")
                if a.canonical_values:
                    allowed = _allowed(a.canonical_values, a.case_exact)
                    add(
                        resource_type,
                        "single",
                        path,
                        found.path,
                        "canonical",
                        allowed=allowed,
                        shown=list(a.canonical_values),
                        case_exact=a.case_exact,
                    )
                if a.required and a.type in _STRINGS and found.path != "id":  # import refuses an empty id
                    add(resource_type, "single", path, found.path, "nonempty")
                continue
            if a.type != "complex":
                if a.canonical_values:
                    allowed = _allowed(a.canonical_values, a.case_exact)
                    add(
                        resource_type,
                        "multi",
                        path,
                        found.path,
                        "canonical",
                        sub="",
                        allowed=allowed,
                        shown=list(a.canonical_values),
                        case_exact=a.case_exact,
                    )
                if a.type == "dateTime":
                    add(resource_type, "multi", path, found.path, "datetime", sub="")
                continue
            for sub in a.sub_attributes:
                if sub.name not in STANDARD_SUBS:
                    continue
                where = f"{found.path}.{sub.name}"
                if sub.name == "primary" and sub.type == "boolean":
                    add(resource_type, "multi", path, found.path, "primary", sub="primary")
                if sub.canonical_values:
                    allowed = _allowed(sub.canonical_values, sub.case_exact)
                    add(
                        resource_type,
                        "multi",
                        path,
                        where,
                        "canonical",
                        sub=sub.name,
                        allowed=allowed,
                        shown=list(sub.canonical_values),
                        case_exact=sub.case_exact,
                    )
                if sub.type == "dateTime":
                    add(resource_type, "multi", path, where, "datetime", sub=sub.name)
                if sub.required:
                    add(resource_type, "multi", path, where, "required_sub", sub=sub.name)
    single_paths = tuple(single) or (_UNUSED_PATH,)
    multi_paths = tuple(multi) or (_UNUSED_PATH,)
    return ValueChecks(single_paths, multi_paths, pa.Table.from_pylist(rows, schema=VALUE_SPECS))
