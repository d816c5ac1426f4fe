"""SCIM attribute paths of the reconcile config: how to read each one, and its case rule.

A path from ``match``/``compare`` in recon.toml becomes an :class:`AttributeSpec` that the
SQL files read as data (never spliced into SQL text):

- ``column``: a flattened column of the normalised tables (``userName`` → ``user_name``,
  ``name.givenName`` → ``given_name``, ``emails[primary]`` → ``primary_email``, enterprise
  ``department``/``employeeNumber`` by bare name or full URN path, ``meta.created`` …);
- ``emails``: the set of email values, optionally filtered (``emails[type eq "work"].value``);
- ``manager``: the enterprise manager reference, compared through the user correlation
  (the two systems assign their own ids);
- ``json_value``: a single value read from ``raw`` by JSON path (anything else, e.g.
  ``nickName`` or ``urn:…:enterprise:2.0:User:costCenter``);
- ``json_multi``: a set of sub-attribute values of a multi-valued attribute in ``raw``
  (``phoneNumbers[type eq "work"].value``).

Case rule (RFC 7643 ``caseExact``): ``id``, ``externalId`` and ``meta.version`` are case-exact;
every other attribute is compared case-insensitively (the RFC default is ``caseExact=false``).
JSON keys in ``raw`` are looked up with the spelling given in the config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from recon.errors import ConfigError
from recon.scim_columns import CORE_GROUP as _CORE_GROUP
from recon.scim_columns import CORE_USER as _CORE_USER
from recon.scim_columns import (
    ENTERPRISE_ATTRIBUTES,
    ENTERPRISE_USER,
    FLATTENED,
    by_path,
    flattened,
    is_multi_valued,
)

__all__ = [
    "ENTERPRISE_USER",
    "AttributeSpec",
    "Extraction",
    "MatchRule",
    "columns_read",
    "compare_attributes",
    "compare_spec_table",
    "group_attribute",
    "match_rules",
    "user_attribute",
]


Extraction = Literal["column", "emails", "manager", "json_value", "json_multi"]

_NAME = r"\$?[A-Za-z][A-Za-z0-9_-]*"
_PATH = re.compile(
    rf"(?P<attr>{_NAME})(?:\.(?P<sub>{_NAME}))?"
    rf"(?:\[(?P<filter>[^\]]*)\](?:\.(?P<after>{_NAME}))?)?"
)
_FILTER = re.compile(rf"\s*(?P<attr>{_NAME})\s+eq\s+(?:\"(?P<text>[^\"]*)\"|(?P<bool>true|false))\s*", re.I)
_URN = re.compile(r"urn:[A-Za-z0-9._-]+(?::[A-Za-z0-9._-]+)*")

# Flattened columns by lower-cased SCIM path (recon/scim_columns.py): the core User ones here,
# the enterprise ones by bare name; a group match reads meta from raw, as text.
_USER_COLUMNS = {path: column for path, column in by_path("User").items() if not path.startswith("urn:")}
_ENTERPRISE_COLUMNS = {
    f.attribute.lower(): f.column for f in flattened("User") if f.schema == ENTERPRISE_USER and f.sub is None
}
_ENTERPRISE_NAMES = {name.lower() for name in ENTERPRISE_ATTRIBUTES}
_GROUP_COLUMNS = {path: column for path, column in by_path("Group").items() if not path.startswith("meta.")}
_CASE_EXACT = {f.path.lower() for f in FLATTENED if f.case_exact}


@dataclass(frozen=True)
class AttributeSpec:
    """How to read one configured attribute path from a users/groups table."""

    path: str  # as written in the config (becomes the finding's ``attribute``)
    extraction: Extraction
    column_name: str | None = None  # for ``column``
    json_path: str | None = None  # for ``json_value``; the array elements for ``json_multi``
    filter_attr: str | None = None  # ``emails``: keep elements whose type/primary/value …
    filter_path: str | None = None  # ``json_multi``: … or whose sub-attribute at this element path …
    filter_value: str | None = None  # … equals this (``"true"``/``"false"`` for booleans)
    value_path: str | None = None  # ``json_multi``: element path of the compared sub-attribute
    case_exact: bool = False
    multi_valued: bool = False

    @property
    def reads_raw(self) -> bool:
        """True when the value comes from the ``raw`` JSON text (costlier to read)."""
        return self.extraction in ("json_value", "json_multi")


def _json_key(name: str) -> str:
    return f'."{name}"' if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) else f".{name}"


def _split_urn(path: str, where: str) -> tuple[str | None, str]:
    if not path.lower().startswith("urn:"):
        return None, path
    head = path.split("[", 1)[0]
    cut = head.rfind(":")
    urn, rest = path[:cut], path[cut + 1 :]
    if not _URN.fullmatch(urn) or not rest:
        raise ConfigError(f"{where}: {path!r} is not a SCIM attribute path (URN:attribute)")
    return urn, rest


def user_attribute(path: str, where: str = "compare") -> AttributeSpec:
    """Parse a User attribute path from the config (raises :class:`ConfigError` naming it)."""
    urn, rest = _split_urn(path.strip(), where)
    match = _PATH.fullmatch(rest)
    if match is None:
        raise ConfigError(f"{where}: {path!r} is not a SCIM attribute path")
    attr, sub, filt, after = match["attr"], match["sub"], match["filter"], match["after"]
    if filt is not None and sub is not None:
        raise ConfigError(f"{where}: {path!r}: a filter belongs on the multi-valued attribute, not on {sub}")
    low = attr.lower()
    if urn is not None and urn.lower() == _CORE_USER.lower():
        urn = None
    if urn is None and low in _ENTERPRISE_NAMES:
        urn = ENTERPRISE_USER
    if urn is not None and urn.lower() == ENTERPRISE_USER.lower():
        if filt is not None:
            raise ConfigError(f"{where}: {path!r}: enterprise attributes are single-valued")
        if low == "manager" and (sub is None or sub.lower() == "value"):
            return AttributeSpec(path, "manager", column_name="manager_id", case_exact=True)
        if low in _ENTERPRISE_COLUMNS and sub is None:
            return AttributeSpec(path, "column", column_name=_ENTERPRISE_COLUMNS[low])
        json_path = f'$."{ENTERPRISE_USER}"{_json_key(attr)}' + (_json_key(sub) if sub else "")
        return AttributeSpec(path, "json_value", json_path=json_path)
    if urn is not None:  # another extension: read from raw
        if filt is not None:
            return _multi(path, f'$."{urn}"{_json_key(attr)}', filt, after, where)
        json_path = f'$."{urn}"{_json_key(attr)}' + (_json_key(sub) if sub else "")
        return AttributeSpec(path, "json_value", json_path=json_path)
    dotted = f"{low}.{sub.lower()}" if sub else low
    if low == "emails":
        return _emails(path, sub, filt, after, where)
    if is_multi_valued("User", low):
        if sub is not None:
            return _multi(path, f"${_json_key(attr)}", None, sub, where)
        return _multi(path, f"${_json_key(attr)}", filt, after, where)
    if filt is not None:
        raise ConfigError(f"{where}: {path!r}: {attr} is not multi-valued, a filter does not apply")
    if dotted in _USER_COLUMNS:
        return AttributeSpec(
            path, "column", column_name=_USER_COLUMNS[dotted], case_exact=dotted in _CASE_EXACT
        )
    json_path = f"${_json_key(attr)}" + (_json_key(sub) if sub else "")
    return AttributeSpec(path, "json_value", json_path=json_path, case_exact=dotted in _CASE_EXACT)


def group_attribute(path: str, where: str = "group_match") -> AttributeSpec:
    """Parse a Group attribute path (``id``, ``externalId``, ``displayName`` or a path into ``raw``)."""
    urn, rest = _split_urn(path.strip(), where)
    match = _PATH.fullmatch(rest)
    if match is None or match["filter"] is not None:
        raise ConfigError(f"{where}: {path!r} is not a single-valued SCIM Group attribute path")
    attr, sub = match["attr"], match["sub"]
    if is_multi_valued("Group", attr):
        raise ConfigError(f"{where}: {path!r} is multi-valued: it cannot be a match attribute")
    if urn is not None and urn.lower() == _CORE_GROUP.lower():
        urn = None
    dotted = f"{attr.lower()}.{sub.lower()}" if sub else attr.lower()
    if urn is None and dotted in _GROUP_COLUMNS:
        return AttributeSpec(
            path, "column", column_name=_GROUP_COLUMNS[dotted], case_exact=dotted in _CASE_EXACT
        )
    prefix = f'$."{urn}"' if urn is not None else "$"
    json_path = prefix + _json_key(attr) + (_json_key(sub) if sub else "")
    return AttributeSpec(path, "json_value", json_path=json_path, case_exact=dotted in _CASE_EXACT)


def _parse_filter(path: str, filt: str, where: str) -> tuple[str, str]:
    if filt.strip().lower() == "primary":
        return "primary", "true"
    found = _FILTER.fullmatch(filt)
    if found is None:
        raise ConfigError(f'{where}: {path!r}: only [primary] and [sub eq "value"] filters are supported')
    value = found["text"] if found["text"] is not None else found["bool"].lower()
    return found["attr"], value


def _emails(path: str, sub: str | None, filt: str | None, after: str | None, where: str) -> AttributeSpec:
    if filt is not None and filt.strip().lower() == "primary" and after is None:
        return AttributeSpec(path, "column", column_name="primary_email")
    value_attr = sub or after or "value"
    if value_attr.lower() != "value":  # display, type … are only in raw
        return _multi(path, "$.emails", filt, value_attr, where)
    filter_attr = filter_value = None
    if filt is not None:
        filter_attr, filter_value = _parse_filter(path, filt, where)
        filter_attr = filter_attr.lower()
        if filter_attr not in ("type", "primary", "value"):  # others are only in raw
            return _multi(path, "$.emails", filt, "value", where)
    return AttributeSpec(
        path, "emails", filter_attr=filter_attr, filter_value=filter_value, multi_valued=True
    )


def _multi(path: str, json_path: str, filt: str | None, value_attr: str | None, where: str) -> AttributeSpec:
    filter_path = filter_value = None
    if filt is not None:
        filter_attr, filter_value = _parse_filter(path, filt, where)
        filter_path = "$" + _json_key(filter_attr)
    return AttributeSpec(
        path,
        "json_multi",
        json_path=json_path,
        filter_path=filter_path,
        filter_value=filter_value,
        value_path="$" + _json_key(value_attr or "value"),
        multi_valued=True,
    )


# -- the config's match and compare lists as specs -------------------------------------------

_NOT_MATCHABLE = {"active", "created", "last_modified"}
_SPEC_SCHEMA = pa.schema(
    [
        ("position", pa.int32()),
        ("attribute", pa.string()),
        ("extraction", pa.string()),
        ("column_name", pa.string()),
        ("json_path", pa.string()),
        ("filter_attr", pa.string()),
        ("filter_path", pa.string()),
        ("filter_value", pa.string()),
        ("value_path", pa.string()),
        ("case_exact", pa.bool_()),
        ("multi_valued", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class MatchRule:
    """One ``[source attribute, target attribute]`` pair of ``match`` / ``group_match``."""

    source: AttributeSpec
    target: AttributeSpec

    @property
    def case_exact(self) -> bool:
        """Values compare exactly only when both attributes are case-exact (e.g. id = externalId)."""
        return self.source.case_exact and self.target.case_exact

    @property
    def description(self) -> str:
        return f"{self.source.path} = {self.target.path}"


def match_rules(
    pairs: Sequence[tuple[str, str]], parse: Callable[[str, str], AttributeSpec], where: str
) -> list[MatchRule]:
    """The ordered match rules; each side must be a single-valued text attribute."""
    rules = []
    for source_path, target_path in pairs:
        rule = MatchRule(parse(source_path, where), parse(target_path, where))
        for spec in (rule.source, rule.target):
            if spec.extraction not in ("column", "json_value") or spec.column_name in _NOT_MATCHABLE:
                raise ConfigError(
                    f"{where}: {spec.path!r} cannot be a match attribute (use a single-valued text one)"
                )
        rules.append(rule)
    if not rules:
        raise ConfigError(f"{where}: give at least one match rule")
    return rules


def compare_attributes(paths: Sequence[str], where: str) -> list[AttributeSpec]:
    """The compare list as specs, without ``active`` (the activity findings cover it) and repeats."""
    specs: list[AttributeSpec] = []
    for path in paths:
        spec = user_attribute(path, where)
        if spec.column_name != "active" and all(s.path != spec.path for s in specs):
            specs.append(spec)
    return specs


def compare_spec_table(specs: Sequence[AttributeSpec]) -> pa.Table:
    """The compare list as the ``compare_spec`` relation the attribute SQL files read."""
    rows = [
        {
            "position": index,
            "attribute": spec.path,
            "extraction": spec.extraction,
            "column_name": spec.column_name,
            "json_path": spec.json_path,
            "filter_attr": spec.filter_attr,
            "filter_path": spec.filter_path,
            "filter_value": spec.filter_value,
            "value_path": spec.value_path,
            "case_exact": spec.case_exact,
            "multi_valued": spec.multi_valued,
        }
        for index, spec in enumerate(specs, start=1)
    ]
    return pa.Table.from_pylist(rows, schema=_SPEC_SCHEMA)


def columns_read(specs: Sequence[AttributeSpec]) -> list[str]:
    """The flattened user columns the specs read (so the SQL scans only those)."""
    columns = set()
    for spec in specs:
        if spec.extraction == "column" and spec.column_name:
            columns.add(spec.column_name)
        elif spec.extraction in ("emails", "manager"):
            columns.add("emails" if spec.extraction == "emails" else "manager_id")
    return sorted(columns)
