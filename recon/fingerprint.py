"""A resource's content fingerprint: the ``content_sha256`` column of users and groups (CONTRACT §3).

The print is SHA-256 of the resource without its top-level ``meta`` (a group also without
``members``, which memberships.parquet carries), serialised as compact JSON with keys sorted at
every level (``orjson.dumps(..., option=orjson.OPT_SORT_KEYS)``). Sorted compact JSON is one text
per parsed JSON value, and SHA-256 is collision resistant, so equal prints mean equal content even
from a hostile server; different prints only mean "compare the two versions" (recon.content
decides, so a re-cased or reordered value is still no change). Every writer computes it here, from
the same parsed object its ``raw`` text is (or parses to), so prints agree whoever wrote them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = [
    "content_sha256",
    "content_sha256_borrowing",
    "content_sha256_of_content",
    "content_sha256_of_sorted_json",
    "content_sha256_of_text",
]

_LEFT_OUT = "meta"
_GROUP_LEFT_OUT = "members"
_SORTED = orjson.OPT_SORT_KEYS


def content_sha256(resource: Mapping[str, Any], resource_type: str) -> bytes | None:
    """The 32-byte print of one parsed resource (``"User"`` or ``"Group"``), None if it cannot be
    serialised (a value orjson refuses: then the resource is compared as without a print)."""
    left_out = _left_out(resource_type)
    return _digest({key: value for key, value in resource.items() if key not in left_out})


def content_sha256_borrowing(resources: list[dict[str, Any]], resource_type: str) -> list[bytes | None]:
    """:func:`content_sha256` of each of a list of parsed objects the caller owns, without copies.

    A user whose last key is ``meta`` (as SCIM servers send it) has it taken out for the
    serialisation and put back, so the object ends as it was, key order included; any other
    object is printed from a copy. No other thread may read the objects meanwhile. Used where
    resources are already parsed (live pages): it saves parsing each text again, and a loop
    without a call per resource saves as much again (together about 1.3 µs a user)."""
    if resource_type == "Group":  # members are left out too: from a copy
        return [content_sha256(resource, resource_type) for resource in resources]
    prints: list[bytes | None] = []
    add = prints.append
    sha256, dumps = hashlib.sha256, orjson.dumps
    for resource in resources:
        if next(reversed(resource), None) != _LEFT_OUT:
            add(content_sha256(resource, resource_type))
            continue
        value = resource.pop(_LEFT_OUT)
        try:
            text: bytes | None = dumps(resource, option=_SORTED)
        except (orjson.JSONEncodeError, TypeError):
            text = None
        resource[_LEFT_OUT] = value
        add(None if text is None else sha256(text).digest())
    return prints


def content_sha256_of_content(content: dict[str, Any]) -> bytes | None:
    """:func:`content_sha256` of a user already without ``meta`` (a group also without
    ``members``): the same print, without copying the resource."""
    return _digest(content)


def content_sha256_of_sorted_json(text: bytes) -> bytes:
    """The print of a resource given as the text :func:`content_sha256` hashes: the resource
    without ``meta`` (a group also without ``members``), compact, keys sorted at every level."""
    return hashlib.sha256(text).digest()


def content_sha256_of_text(raw: bytes | str | None, resource_type: str) -> bytes | None:
    """The print of a resource's ``raw`` text (parsed once, as recon.content parses it); None
    when it is absent or not a JSON object."""
    if raw is None:
        return None
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(resource, dict):
        return None
    for key in _left_out(resource_type):  # the parsed object is ours: no copy
        resource.pop(key, None)
    return _digest(resource)


def _left_out(resource_type: str) -> tuple[str, ...]:
    return (_LEFT_OUT, _GROUP_LEFT_OUT) if resource_type == "Group" else (_LEFT_OUT,)


def _digest(content: dict[str, Any]) -> bytes | None:
    try:
        return hashlib.sha256(orjson.dumps(content, option=_SORTED)).digest()
    except (orjson.JSONEncodeError, TypeError):
        return None
