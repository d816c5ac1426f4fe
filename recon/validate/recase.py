"""A copy of a resource with its attribute names spelled as declared, for the value checks.

``validate_shapes`` reads each checked value at an exact JSON path (``$."emails"``), but
attribute names are case-insensitive (RFC 7643 §2.1): the values of ``"Emails"`` or
``"meta": {"LastModified": …}`` would never be checked. The few resources whose shape holds
such a name are read again from this copy, so their values are checked like any other; their
shape (and its ``attribute_name_case`` findings) still comes from the resource as spelled.

When an object holds one attribute under several spellings, the declared spelling is kept,
else the first one met; the others are left to the shape checks (type, name case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recon.validate.declared import Declared
from recon.validate.rfc7643 import COMMON_ATTRIBUTES, Attribute

__all__ = ["declared_spelling"]


def _names(attributes: Iterable[Attribute]) -> dict[str, Attribute]:
    found: dict[str, Attribute] = {}
    for attribute in attributes:
        found.setdefault(attribute.name.lower(), attribute)  # the first declaration counts
    return found


def _value(attribute: Attribute, value: Any) -> Any:
    if attribute.type != "complex" or not attribute.sub_attributes:
        return value
    subs = _names(attribute.sub_attributes)
    if isinstance(value, dict):
        return _object(value, subs, {}, {})
    if isinstance(value, list):
        return [_object(e, subs, {}, {}) if isinstance(e, dict) else e for e in value]
    return value


def _object(
    value: Mapping[str, Any],
    names: Mapping[str, Attribute],
    blocks: Mapping[str, str],
    block_attributes: Mapping[str, Mapping[str, Attribute]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, child in value.items():
        lowered = key.lower()
        if lowered in blocks:
            target = blocks[lowered]
            if isinstance(child, dict):
                child = _object(child, block_attributes[target], {}, {})
        elif ":" not in key and lowered in names:
            target = names[lowered].name
            child = _value(names[lowered], child)
        else:
            target = key
        if target != key and (target in value or target in out):
            continue  # spelled as declared elsewhere in this object, or an earlier spelling won
        out[target] = child
    return out


def declared_spelling(resource: Mapping[str, Any], declared: Declared, resource_type: str) -> dict[str, Any]:
    """``resource`` with every declared attribute, sub-attribute and extension URN spelled as declared."""
    core = declared.schemas.get(declared.core(resource_type))
    names = _names([*COMMON_ATTRIBUTES, *(core.attributes if core is not None else ())])
    blocks = {urn.lower(): urn for urn in declared.extensions(resource_type)}
    block_attributes: dict[str, Mapping[str, Attribute]] = {}
    for urn in blocks.values():
        schema = declared.schemas.get(urn)
        block_attributes[urn] = _names(schema.attributes if schema is not None else ())
    return _object(resource, names, blocks, block_attributes)
