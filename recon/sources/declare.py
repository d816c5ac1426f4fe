"""The provider extension's schema, declared from what an export actually held.

The provider extension (``urn:recon:params:scim:schemas:extension:<kind>:2.0:User``/``Group``)
keeps every provider attribute no mapping reads, and which those are depends on the tenant
(Okta profile attributes are custom). So that ``recon validate --system`` judges an export
against a declared schema, the attributes seen during the crawl are declared in the system's
capabilities.json, with the SCIM type of their values (RFC 7643 §2.3): boolean, integer,
decimal, string, complex (sub-attributes one level deep, as RFC 7643 §2.4 allows; deeper
values are declared ``string`` holders of JSON), multi-valued when a list.
At most :data:`MAX_ATTRIBUTES` names per extension are declared (hostile input stays bounded).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_ATTRIBUTES", "ExtensionSchemas"]

MAX_ATTRIBUTES = 1000
_TYPES = ((bool, "boolean"), (int, "integer"), (float, "decimal"), (str, "string"), (dict, "complex"))


def _type(value: Any) -> str | None:
    for kind, name in _TYPES:
        if isinstance(value, kind):
            return name
    return None


def _attribute(name: str, value: Any, known: dict[str, Any] | None, nested: bool) -> dict[str, Any]:
    multi = isinstance(value, list)
    sample = next((v for v in value if v is not None), None) if multi else value
    kind = _type(sample)
    if nested and kind == "complex":
        kind = "string"
    previous = known or {}
    out: dict[str, Any] = {
        "name": name,
        "type": kind or previous.get("type") or "string",
        "multiValued": multi or bool(previous.get("multiValued")),
        "required": False,
        "caseExact": False,
        "mutability": "readOnly",
        "returned": "default",
        "uniqueness": "none",
    }
    if out["type"] == "complex" and not nested:
        subs = {s["name"]: s for s in previous.get("subAttributes") or []}
        for item in value if multi else [value]:
            if isinstance(item, dict):
                for key, inner in item.items():
                    if key in subs or len(subs) < MAX_ATTRIBUTES:
                        subs[key] = _attribute(key, inner, subs.get(key), nested=True)
        out["subAttributes"] = list(subs.values())
    return out


def _shape(value: Any) -> Any:
    """What the declaration of a value depends on: its type, and its sub-attributes' names and types."""
    if isinstance(value, list):
        return ("list", _shape(value[0]) if value else None)
    if isinstance(value, dict):
        return (tuple(value), tuple(map(type, value.values())))
    return type(value)


class ExtensionSchemas:
    """Collects the attributes seen under the provider extensions during a crawl."""

    def __init__(self, extensions: dict[str, str]) -> None:
        self.names = extensions  # urn -> schema name
        self.attributes: dict[str, dict[str, dict[str, Any]]] = {urn: {} for urn in extensions}
        self._shapes: dict[tuple[str, str], Any] = {}  # the value shape already declared, per attribute

    def _covers(self, urn: str, key: str, known: dict[str, Any], value: Any) -> bool:
        """Whether ``value`` adds nothing to the declaration (same shape as one declared before)."""
        return bool(self._shapes.get((urn, key)) == _shape(value))

    def add(self, resource: dict[str, Any]) -> None:
        """Note the extension attributes of one SCIM resource."""
        for urn, seen in self.attributes.items():
            ext = resource.get(urn)
            if not isinstance(ext, dict):
                continue
            for key, value in ext.items():
                known = seen.get(key)
                if known is not None and (value is None or self._covers(urn, key, known, value)):
                    continue
                if known is not None or len(seen) < MAX_ATTRIBUTES:
                    seen[key] = _attribute(key, value, known, nested=False)
                    self._shapes[(urn, key)] = _shape(value)

    def merge(self, schemas: list[dict[str, Any]] | None) -> None:
        """Keep what an earlier export declared (a delta export holds fewer attributes)."""
        for schema in schemas or []:
            seen = self.attributes.get(str(schema.get("id")))
            if seen is None:
                continue
            for attribute in schema.get("attributes") or []:
                if isinstance(attribute, dict) and isinstance(attribute.get("name"), str):
                    seen.setdefault(attribute["name"], attribute)

    def schemas(self) -> list[dict[str, Any]]:
        """The extension schemas as /Schemas resources."""
        return [
            {
                "id": urn,
                "name": self.names[urn],
                "description": "every provider attribute no mapping reads (declared from the export)",
                "attributes": [self.attributes[urn][k] for k in sorted(self.attributes[urn])],
            }
            for urn in self.attributes
        ]
