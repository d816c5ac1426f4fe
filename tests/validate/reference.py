"""A slow, per-resource reference of the export rules of ``recon validate`` (RFC 7643 and
docs/commands/validate.md).

It walks each resource (a decoded JSON object) against the declared model and applies each
rule directly, without the shapes, value facts and SQL of :mod:`recon.validate`: the
differential test (tests/validate/test_differential.py) asserts both give the same findings.
It reads the declared model (input data) and nothing of recon's checking logic.

Two families of checks, as docs/commands/validate.md describes them:

- *structure* (every attribute as the resource spells it, findings named as spelled:
  ``Emails.value``): undeclared attributes and schemas, JSON types, leaks, name case,
  required attributes, schemas URNs versus extension blocks;
- *values* (findings named by the declared path: ``emails.type``): canonical values,
  xsd:dateTime, several primaries, required sub-attributes of multi-valued attributes.
  Attribute names are case-insensitive (RFC 7643 §2.1), so a value spelled ``Emails`` is
  checked like ``emails``; when an object holds one attribute under several spellings, the
  declared spelling is the one checked, else the first one.

Where docs/commands/validate.md leaves a choice open, the reference follows recon; each such choice is
marked ``interpretation:``.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from recon.validate.declared import Declared
from recon.validate.rfc7643 import COMMON_ATTRIBUTES, Attribute

__all__ = ["lower", "reference_findings", "resource_type_of", "xsd_datetime"]

Finding = tuple[str, str, str, str]  # kind, resource_type, id, attribute

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
# docs/commands/validate.md: element checks (primary, canonical, required sub-attributes) cover only these
# sub-attributes of a multi-valued attribute; its other sub-attributes get name and type checks
STANDARD_SUBS = ("value", "display", "type", "primary", "$ref")

_DATETIME = re.compile(
    r"-?(?P<year>[1-9][0-9]{4,}|[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(\.[0-9]+)?"
    r"(Z|(?P<sign>[+-])(?P<tzh>[0-9]{2}):(?P<tzm>[0-9]{2}))?"
)


def xsd_datetime(text: str) -> bool:
    """Whether ``text`` is an xsd:dateTime (RFC 7643 §2.3.5): a real date, a time, an optional zone."""
    m = _DATETIME.fullmatch(text)
    if m is None:
        return False
    year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
    if not 1 <= month <= 12 or year == 0:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else calendar.monthrange(2001, month)[1]
    if not 1 <= day <= days:
        return False
    if int(m["hour"]) > 23 or int(m["minute"]) > 59 or int(m["second"]) > 59:
        return False
    if m["sign"] is not None:
        tzh, tzm = int(m["tzh"]), int(m["tzm"])
        if tzm > 59 or tzh > 14 or (tzh == 14 and tzm != 0):
            return False
    return True


def lower(text: str) -> str:
    """Lower case for caseExact=false comparisons.

    interpretation: Unicode's simple per-character lowercase mapping (DuckDB ``lower``): no
    final-sigma rule, no full case folding (``ß`` is not ``ss``), ``İ`` becomes ``i``.
    """
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


def _unassigned(value: Any) -> bool:
    """null, "", [] and {} are unassigned (docs/commands/validate.md "Not findings"; RFC 7643 §2.5).

    interpretation: so is an array whose elements are all null or {}.
    """
    if isinstance(value, list):
        return all(v is None or v == {} for v in value)
    return value is None or (isinstance(value, str | dict) and len(value) == 0)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _json_type_ok(declared_type: str, value: Any) -> bool:
    """The JSON type of a value against its declared type (a dateTime is a string here)."""
    if declared_type in ("string", "reference", "binary", "dateTime"):
        return isinstance(value, str)
    if declared_type == "boolean":
        return isinstance(value, bool)
    if declared_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if declared_type == "decimal":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if declared_type == "complex":
        return isinstance(value, dict)
    raise ValueError(f"unknown declared type {declared_type!r}")


def _by_name(attributes: Iterable[Attribute]) -> dict[str, Attribute]:
    """Attribute names are case-insensitive (RFC 7643 §2.1); the first declaration of a name counts."""
    found: dict[str, Attribute] = {}
    for attribute in attributes:
        found.setdefault(attribute.name.lower(), attribute)
    return found


def _checked_keys(holder: Mapping[str, Any], names: Iterable[str]) -> set[str]:
    """Per declared name, the key whose value the value checks read: spelled as declared, else the first."""
    chosen: set[str] = set()
    for name in names:
        spellings = [k for k in holder if k.lower() == name.lower()]
        if spellings:
            chosen.add(name if name in spellings else spellings[0])
    return chosen


def _variants(holder: Mapping[str, Any], name: str) -> list[Any]:
    return [v for k, v in holder.items() if k.lower() == name.lower()]


def _leaks(attribute: Attribute) -> bool:
    return attribute.returned == "never" or attribute.mutability == "writeOnly"


def _canonical_ok(attribute: Attribute, value: str) -> bool:
    if attribute.case_exact:
        return value in attribute.canonical_values
    return lower(value) in {lower(c) for c in attribute.canonical_values}


def resource_type_of(resource: Mapping[str, Any]) -> str:
    """User or Group as ``recon import`` tells them apart: the core URN in schemas, else meta.resourceType."""
    schemas = resource.get("schemas") or []
    if USER_URN in schemas:
        return "User"
    if GROUP_URN in schemas:
        return "Group"
    return str(resource["meta"]["resourceType"])


class _Walk:
    """The findings of one resource.

    interpretation: a structural finding names the attribute (and a URN) as the resource
    spells it; a value finding names the declared path.
    """

    def __init__(self, declared: Declared, resource_type: str, rid: str, out: set[Finding]) -> None:
        self.declared = declared
        self.resource_type = resource_type
        self.rid = rid
        self.out = out

    def add(self, kind: str, attribute: str) -> None:
        self.out.add((kind, self.resource_type, self.rid, attribute))

    def resource(self, resource: Mapping[str, Any]) -> None:
        core_urn = self.declared.core(self.resource_type)
        core_schema = self.declared.schemas.get(core_urn)
        top = _by_name([*COMMON_ATTRIBUTES, *(core_schema.attributes if core_schema else ())])
        extensions = {u.lower(): (u, req) for u, req in self.declared.extensions(self.resource_type).items()}
        listed: dict[str, str] = {}  # lower-case URN -> its spelling in schemas (the least, if several)
        for urn in resource.get("schemas") or []:
            if isinstance(urn, str):
                listed[urn.lower()] = min(urn, listed.get(urn.lower(), urn))
        blocks: dict[str, list[tuple[str, Any]]] = defaultdict(list)  # lower-case URN -> (key, value)
        checked = _checked_keys(
            resource, [a.name for a in top.values()] + [u for u, _ in extensions.values()]
        )

        for key, value in resource.items():
            lowered = key.lower()
            if ":" in key:  # attribute names cannot hold ':' (RFC 7643 §2.1): an extension block
                blocks[lowered].append((key, value))
            elif lowered in top:
                attribute = top[lowered]
                self.attribute(attribute, attribute.name, key, value, checked=key in checked)
            elif not _unassigned(value):
                self.add("undeclared_attribute", key)

        for attribute in top.values():
            if attribute.required and all(_unassigned(v) for v in _variants(resource, attribute.name)):
                self.add("missing_required", attribute.name)
        if core_urn.lower() not in listed:
            self.add("schema_urn_missing", core_urn)

        for key in sorted({*listed, *blocks} - {core_urn.lower()}):
            rows = blocks.get(key) or [(listed[key], None)]
            # interpretation: any non-empty object is a block, even when its attributes are all null;
            # so is a value of another JSON type (a type_mismatch too)
            any_block = any(not _unassigned(v) for _, v in rows)
            for spelled, value in rows:
                has_block = not _unassigned(value)
                if has_block and not isinstance(value, dict):
                    self.add("type_mismatch", spelled)
                if key not in extensions:
                    if key in listed or has_block:
                        self.add("undeclared_schema", spelled)
                    if has_block and key not in listed:
                        self.add("schema_urn_missing", spelled)
                    continue
                if has_block and key not in listed:
                    self.add("schema_urn_missing", spelled)
                if key in listed and not any_block:
                    self.add("schema_urn_without_block", spelled)
                if has_block and isinstance(value, dict):
                    self.extension(extensions[key][0], spelled, value, checked=spelled in checked)
            if key in extensions:
                self.extension_required(extensions[key][0], [v for _, v in rows if isinstance(v, dict) and v])
        for key, (urn, required) in extensions.items():
            if required and all(_unassigned(v) for _, v in blocks.get(key, [])):
                self.add("missing_required", urn)

    def extension(self, urn: str, spelled: str, block: Mapping[str, Any], *, checked: bool) -> None:
        schema = self.declared.schemas.get(urn)
        declared = _by_name(schema.attributes if schema else ())
        chosen = _checked_keys(block, [a.name for a in declared.values()])
        for key, value in block.items():
            attribute = declared.get(key.lower())
            if attribute is None:
                if not _unassigned(value):
                    self.add("undeclared_attribute", f"{spelled}:{key}")
                continue
            path = f"{urn}:{attribute.name}"
            self.attribute(attribute, path, f"{spelled}:{key}", value, checked=checked and key in chosen)

    def extension_required(self, urn: str, blocks: list[Any]) -> None:
        """Required attributes of an extension present (in any spelling of its URN)."""
        schema = self.declared.schemas.get(urn)
        if not blocks or schema is None:
            return
        for attribute in _by_name(schema.attributes).values():
            values = [v for block in blocks for v in _variants(block, attribute.name)]
            if attribute.required and all(_unassigned(v) for v in values):
                self.add("missing_required", f"{urn}:{attribute.name}")

    def attribute(
        self,
        attribute: Attribute,
        path: str,
        spelled: str,
        value: Any,
        *,
        checked: bool,
        structure: bool = True,
        element_rules: bool = True,
        element_type: bool = False,
    ) -> None:
        """One attribute's value.

        ``checked``: the value checks read it; ``structure``: the structural checks see it;
        ``element_rules``: canonical, dateTime and required checks apply (a non-standard
        sub-attribute of a multi-valued attribute gets name and type checks only);
        ``element_type``: the ``type`` of an element of a multi-valued attribute.
        """
        values = checked and element_rules
        if structure and spelled != path:
            self.add("attribute_name_case", spelled)
        if _unassigned(value):
            return
        if structure and _leaks(attribute):
            self.add("leaked_attribute", spelled)
        # interpretation: an element's type of another JSON type is also outside the canonical values
        if (
            values
            and element_type
            and attribute.canonical_values
            and not isinstance(value, str)
            and lower(json.dumps(value)) not in {lower(c) for c in attribute.canonical_values}
        ):
            self.add("non_canonical_value", path)
        if not attribute.multi_valued:
            if isinstance(value, list) or not _json_type_ok(attribute.type, value):
                if structure:
                    self.add("type_mismatch", spelled)
                return
            self.one_value(
                attribute, path, spelled, value, values=values, structure=structure, in_multi=False
            )
            return
        if not isinstance(value, list):
            if structure:
                self.add("type_mismatch", spelled)
            return
        elements = [element for element in value if element is not None]
        assigned = [element for element in elements if element != {}]
        mixed = len({_json_kind(e) for e in assigned}) > 1
        if structure and (mixed or not all(_json_type_ok(attribute.type, e) for e in assigned)):
            self.add("type_mismatch", spelled)
        for element in elements:
            # interpretation: the elements of an array of mixed JSON types get value checks only
            # (recon's shapes merge them into one "mixed" element and see no sub-attributes)
            if _json_type_ok(attribute.type, element):
                self.one_value(
                    attribute,
                    path,
                    spelled,
                    element,
                    values=values,
                    structure=structure and not mixed,
                    in_multi=True,
                )
        primary = _by_name(attribute.sub_attributes).get("primary")
        if values and primary is not None and primary.type == "boolean":
            primaries = 0
            for element in elements:
                if isinstance(element, dict):
                    chosen = _checked_keys(element, ["primary"])
                    primaries += sum(1 for k in chosen if element[k] is True)
            if primaries > 1:
                self.add("multiple_primary", path)

    def one_value(
        self,
        attribute: Attribute,
        path: str,
        spelled: str,
        value: Any,
        *,
        values: bool,
        structure: bool,
        in_multi: bool,
    ) -> None:
        """A value (or element) of the declared JSON type: value checks, a complex value's sub-attributes."""
        if values and isinstance(value, str) and value != "":
            if attribute.canonical_values and not _canonical_ok(attribute, value):
                self.add("non_canonical_value", path)
            if attribute.type == "dateTime" and not xsd_datetime(value):
                self.add("type_mismatch", path)
        if attribute.type != "complex":
            return
        subs = _by_name(attribute.sub_attributes)
        chosen = _checked_keys(value, [s.name for s in subs.values()])
        for key, sub_value in value.items():
            sub = subs.get(key.lower())
            if sub is None:
                if structure and not _unassigned(sub_value):
                    self.add("undeclared_attribute", f"{spelled}.{key}")
                continue
            self.attribute(
                sub,
                f"{path}.{sub.name}",
                f"{spelled}.{key}",
                sub_value,
                checked=values and key in chosen,
                structure=structure,
                element_rules=not in_multi or sub.name in STANDARD_SUBS,
                element_type=in_multi and sub.name == "type",
            )
        for sub in subs.values():
            if not sub.required:
                continue
            if in_multi:  # a value check of each element, standard sub-attributes only
                lacking = all(_unassigned(value[k]) for k in chosen if k.lower() == sub.name.lower())
                if values and sub.name in STANDARD_SUBS and lacking:
                    self.add("missing_required", f"{path}.{sub.name}")
            elif structure and all(_unassigned(v) for v in _variants(value, sub.name)):
                self.add("missing_required", f"{path}.{sub.name}")


def reference_findings(resources: Iterable[Mapping[str, Any]], declared: Declared) -> set[Finding]:
    """Every (kind, resource_type, id, attribute) finding of the export rules in docs/commands/validate.md."""
    out: set[Finding] = set()
    user_names: dict[str, list[str]] = defaultdict(list)
    case_exact = False
    user_core = declared.schemas.get(declared.core("User"))
    for attribute in user_core.attributes if user_core else ():
        if attribute.name.lower() == "username":
            case_exact = attribute.case_exact
            break
    for resource in resources:
        resource_type = resource_type_of(resource)
        rid = str(resource["id"])
        _Walk(declared, resource_type, rid, out).resource(resource)
        if resource_type == "User":
            # interpretation: the userName compared is the one `recon import` reads: the key spelled
            # exactly userName, a number as its text
            name = resource.get("userName")
            if isinstance(name, int | float) and not isinstance(name, bool):
                name = str(name)
            if isinstance(name, str) and name != "":
                user_names[name if case_exact else lower(name)].append(rid)
    for ids in user_names.values():
        if len(ids) > 1:
            out.update(("user_name_collision", "User", rid, "userName") for rid in ids)
    return out
