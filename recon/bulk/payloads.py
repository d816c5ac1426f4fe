"""SCIM payloads of a remediation plan, built from the source's ``raw`` resources.

- A created User is the source resource without what the server owns (``id``, ``meta``,
  ``groups``, ``password``) and without schema extensions the target does not serve,
  plus the attributes the match rules correlate on (``externalId`` = source ``id`` by default),
  so the next reconcile matches it by the first rule.
- A created Group is the source ``displayName`` (+ match attributes) and resolved members.
- An attribute drift becomes PATCH operations setting the source's value (``remove`` when the
  source has none); multi-valued attributes (``emails``, ``phoneNumbers[…]``) are replaced whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import orjson

from recon.bulk.model import PATCH_OP
from recon.scim_columns import CORE_GROUP as GROUP_SCHEMA
from recon.scim_columns import CORE_USER as USER_SCHEMA
from recon.scim_columns import ENTERPRISE_USER

__all__ = [
    "SERVER_OWNED",
    "attribute_patch",
    "group_create",
    "patch_body",
    "user_create",
]

SERVER_OWNED = frozenset({"id", "meta", "groups", "password"})
_ENTERPRISE_NAMES = {"employeenumber", "costcenter", "organization", "division", "department", "manager"}
_PATH = re.compile(
    r"^(?:(?P<urn>urn:[A-Za-z0-9._:-]+):)?(?P<attr>[A-Za-z$][A-Za-z0-9_$-]*)"
    r"(?:\.(?P<sub>[A-Za-z][A-Za-z0-9_-]*))?(?P<filter>\[[^\]]*\](?:\.[A-Za-z][A-Za-z0-9_-]*)?)?$"
)


class _Path(NamedTuple):
    urn: str | None
    attr: str
    sub: str | None
    filter: str | None


@functools.lru_cache(maxsize=1024)
def _parsed(path: str) -> _Path | None:
    """The parts of a SCIM path, parsed once per path (a plan asks for every user it creates)."""
    match = _PATH.match(path)
    return None if match is None else _Path(match["urn"], match["attr"], match["sub"], match["filter"])


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` with SCIM's case-insensitive attribute names."""
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for name, value in obj.items():
        if name.lower() == lowered:
            return value
    return None


def _unassigned(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _source_value(raw: dict[str, Any], path: str) -> Any:
    """The value at a simple SCIM path (``attr``, ``attr.sub``, ``urn:…:attr[.sub]``) of ``raw``."""
    match = _parsed(path)
    if match is None:
        return None
    container: Any = raw
    if match.urn:
        container = _get(raw, match.urn)
    value = _get(container, match.attr)
    if match.sub:
        value = _get(value, match.sub)
    return value


def _patch_path(path: str) -> tuple[str, bool] | None:
    """(SCIM path to PATCH, whole multi-valued attribute?) for a compare-list path, or None."""
    match = _parsed(path.strip())
    if match is None:
        return None
    urn, attr, sub, filt = match.urn, match.attr, match.sub, match.filter
    if urn is not None and urn.lower() == USER_SCHEMA.lower():
        urn = None
    if urn is None and attr.lower() in _ENTERPRISE_NAMES:
        urn = ENTERPRISE_USER
    if attr.lower() == "emails" or filt is not None:
        base = f"{urn}:{attr}" if urn else attr
        return base, True  # replace the whole multi-valued attribute
    if urn is not None:
        return f"{urn}:{attr}" + (f".{sub}" if sub else ""), False
    return attr + (f".{sub}" if sub else ""), False


def attribute_patch(
    attribute: str, source_raw: dict[str, Any], *, manager_target_id: str | None = None
) -> list[dict[str, Any]] | None:
    """PATCH operations that give the target the source's value of ``attribute`` (None: cannot)."""
    resolved = _patch_path(attribute)
    if resolved is None:
        return None
    path, whole = resolved
    lowered = path.lower()
    if lowered in (f"{ENTERPRISE_USER.lower()}:manager", f"{ENTERPRISE_USER.lower()}:manager.value"):
        if manager_target_id is None:
            source_manager = _get(_get(source_raw, ENTERPRISE_USER), "manager")
            if _unassigned(_get(source_manager, "value")):
                return [{"op": "remove", "path": f"{ENTERPRISE_USER}:manager"}]
            return None  # the manager has no account in the target: nothing to point at
        return [
            {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": manager_target_id}}
        ]
    value = _source_value(source_raw, path)
    if whole and isinstance(value, list):
        value = [item for item in value if not _unassigned(item)]
    if _unassigned(value):
        return [{"op": "remove", "path": path}]
    return [{"op": "replace", "path": path, "value": value}]


def patch_body(operations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A PatchOp message."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def _set_path(resource: dict[str, Any], path: str, value: Any) -> None:
    match = _parsed(path)
    if match is None or match.filter or value is None:
        return
    container = resource
    if match.urn:
        container = resource.setdefault(match.urn, {})
    if match.sub:
        container = container.setdefault(match.attr, {})
        container[match.sub] = value
    else:
        container[match.attr] = value


def _match_values(
    source_id: str, raw: dict[str, Any], rules: Iterable[tuple[str, str]]
) -> list[tuple[str, Any]]:
    values = []
    for source_attr, target_attr in rules:
        if target_attr.lower() == "id":
            continue  # the server assigns ids
        value = source_id if source_attr.lower() == "id" else _source_value(raw, source_attr)
        if not _unassigned(value) and not isinstance(value, dict | list):
            values.append((target_attr, value))
    return values


def user_create(
    source_id: str,
    raw_text: str,
    *,
    match_rules: Iterable[tuple[str, str]],
    extensions: Iterable[str] = (ENTERPRISE_USER,),
) -> dict[str, Any]:
    """The POST body creating the source user ``source_id`` in the target."""
    raw = orjson.loads(raw_text)
    allowed = {ext.lower(): ext for ext in extensions}
    body: dict[str, Any] = {}
    schemas = [USER_SCHEMA]
    for key, value in raw.items():
        lowered = key.lower()
        if lowered in SERVER_OWNED or lowered == "schemas":
            continue
        if lowered.startswith("urn:"):
            if lowered == USER_SCHEMA.lower() and isinstance(value, dict):
                body.update(value)  # core attributes written under their URN
            elif lowered in allowed and isinstance(value, dict):
                body[allowed[lowered]] = value
                schemas.append(allowed[lowered])
            continue
        body[key] = value
    for target_attr, value in _match_values(source_id, raw, match_rules):
        _set_path(body, target_attr, value)
    for key in body:
        if key.lower().startswith("urn:") and key not in schemas:
            schemas.append(key)
    return {"schemas": schemas, **body}


def group_create(
    source_id: str,
    raw_text: str,
    members: Sequence[dict[str, str]],
    *,
    match_rules: Iterable[tuple[str, str]],
) -> dict[str, Any]:
    """The POST body creating the source group ``source_id`` with ``members`` (value/type dicts)."""
    raw = orjson.loads(raw_text)
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA]}
    display_name = _get(raw, "displayName")
    if not _unassigned(display_name):
        body["displayName"] = display_name
    for target_attr, value in _match_values(source_id, raw, match_rules):
        _set_path(body, target_attr, value)
    if members:
        body["members"] = list(members)
    return body
