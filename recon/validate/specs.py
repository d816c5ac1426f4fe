"""The value checks of ``sql/validate_values.sql`` as data, from a :class:`Declared` model.

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

__all__ = ["VALUE_SPECS", "ValueChecks", "value_checks"]

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
_UNUSED_PATH = '$."\u0000recon-unused"'  # a path no resource has, so a list is never empty


@dataclass(frozen=True)
class ValueChecks:
    """The JSON paths to read, the spec table, and the per-resource-type flags of the checks."""

    single_paths: tuple[str, ...]
    multi_paths: tuple[str, ...]
    specs: pa.Table

    def params(self) -> dict[str, list[Any]]:
        """Parameters of ``validate_shapes``: per path and resource type (User paths, then Group)."""
        rows = self.specs.to_pylist()
        out: dict[str, list[Any]] = {
            "single_paths": list(self.single_paths),
            "multi_paths": list(self.multi_paths),
        }
        for slot, paths, names in (
            ("single", self.single_paths, ("nonempty", "datetime", "canonical")),
            ("multi", self.multi_paths, ("primary", "canonical", "generic")),
        ):
            flags: dict[str, list[Any]] = {f"{slot}_{name}": [] for name in names}
            allowed: list[list[str]] = []
            case_exact: list[bool] = []
            for resource_type in RESOURCE_TYPES:
                for idx in range(1, len(paths) + 1):
                    here = [
                        r
                        for r in rows
                        if r["resource_type"] == resource_type and r["slot"] == slot and r["idx"] == idx
                    ]
                    canonical = [
                        r for r in here if r["check_name"] == "canonical" and r["sub"] in (None, "type")
                    ]
                    for name in names:
                        if name == "canonical":
                            flags[f"{slot}_{name}"].append(bool(canonical))
                        elif name == "generic":
                            flags[f"{slot}_{name}"].append(any(_generic(r) for r in here))
                        else:
                            flags[f"{slot}_{name}"].append(any(r["check_name"] == name for r in here))
                    # never empty, so the parameter is typed VARCHAR[][] (an unused entry is never read)
                    allowed.append(list(canonical[0]["allowed"]) or [""] if canonical else [""])
                    case_exact.append(bool(canonical[0]["case_exact"]) if canonical else False)
            out.update(flags)
            out[f"{slot}_allowed"] = allowed
            out[f"{slot}_case_exact"] = case_exact
        return out


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
