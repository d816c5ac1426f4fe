"""Provider objects as SCIM 2.0 resources: the default attribute mappings, and overrides.

A mapping is a table ``SCIM attribute -> provider attribute``, as the providers' own
provisioning consoles show it. The defaults are the providers' documented defaults for a
SCIM app:

- Entra ID, the "customappsso" (non-gallery SCIM app) user mappings: userPrincipalName ->
  userName, ``Not([IsSoftDeleted])`` -> active, displayName, jobTitle -> title, mail ->
  emails[type eq "work"].value, mailNickname -> externalId, givenName, surname,
  ``Join(" ", [givenName], [surname])`` -> name.formatted, the work address, telephone,
  mobile and fax numbers, preferredLanguage, employeeId -> employeeNumber, department and
  manager (enterprise extension); groups: displayName, objectId -> externalId, members.
- Okta, the SCIM 2.0 app's "Okta to app" mappings: login -> userName, the Okta user id ->
  externalId, firstName/lastName/displayName/nickName, email -> emails[type eq "work"],
  title, userType, locale/timezone/preferredLanguage, primaryPhone/mobilePhone, the address,
  and employeeNumber, department, organization, division, costCenter, managerId (enterprise
  extension); status -> active; groups: name -> displayName, id -> externalId.

``[systems.<name>.mapping]`` (users) and ``group_mapping`` replace single entries (a value
of ``""`` drops one). A provider attribute is a dotted path (``profile.firstName``,
``onPremisesExtensionAttributes.extensionAttribute1``) with an optional ``[n]`` index
(``businessPhones[0]``), or one of the expressions named in :data:`EXPRESSIONS`.

Every attribute of the provider object that no mapping consumed is kept under the
provider's extension URN (:data:`ENTRA_USER` and friends), so nothing read is lost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from recon.errors import ConfigError
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA

__all__ = [
    "ENTRA_GROUP",
    "ENTRA_USER",
    "EXPRESSIONS",
    "OKTA_GROUP",
    "OKTA_USER",
    "REMOVED",
    "Mapping",
    "mapping_for",
]

ENTRA_USER = "urn:recon:params:scim:schemas:extension:entra:2.0:User"
ENTRA_GROUP = "urn:recon:params:scim:schemas:extension:entra:2.0:Group"
OKTA_USER = "urn:recon:params:scim:schemas:extension:okta:2.0:User"
OKTA_GROUP = "urn:recon:params:scim:schemas:extension:okta:2.0:Group"
REMOVED = "@removed"  # Graph's delta tombstone, kept under the extension

_EWORK = 'emails[type eq "work"].value'
_EHOME = 'emails[type eq "home"].value'
_ADDR = 'addresses[type eq "work"].'
_PHONE = 'phoneNumbers[type eq "{}"].value'
_ENT = ENTERPRISE_USER + ":"
_ENTERPRISE_ATTRS = ("employeeNumber", "costCenter", "organization", "division", "department", "manager")

# SCIM attributes a mapping may set (users); the enterprise ones also by their short name.
USER_TARGETS: tuple[str, ...] = (
    "userName",
    "externalId",
    "active",
    "displayName",
    "nickName",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    _EWORK,
    _EHOME,
    _PHONE.format("work"),
    _PHONE.format("mobile"),
    _PHONE.format("fax"),
    *(_ADDR + part for part in ("streetAddress", "locality", "region", "postalCode", "country")),
    *(_ENT + attr for attr in _ENTERPRISE_ATTRS),
)
GROUP_TARGETS: tuple[str, ...] = ("displayName", "externalId")

ENTRA_USER_DEFAULTS: dict[str, str] = {
    "userName": "userPrincipalName",
    "active": "Not([IsSoftDeleted])",
    "displayName": "displayName",
    "title": "jobTitle",
    _EWORK: "mail",
    "preferredLanguage": "preferredLanguage",
    "name.givenName": "givenName",
    "name.familyName": "surname",
    "name.formatted": 'Join(" ", [givenName], [surname])',
    _ADDR + "streetAddress": "streetAddress",
    _ADDR + "locality": "city",
    _ADDR + "region": "state",
    _ADDR + "postalCode": "postalCode",
    _ADDR + "country": "country",
    _PHONE.format("work"): "businessPhones[0]",
    _PHONE.format("mobile"): "mobilePhone",
    _PHONE.format("fax"): "faxNumber",
    "externalId": "mailNickname",
    _ENT + "employeeNumber": "employeeId",
    _ENT + "department": "department",
    _ENT + "manager": "manager",
}
ENTRA_GROUP_DEFAULTS: dict[str, str] = {"displayName": "displayName", "externalId": "id"}
OKTA_USER_DEFAULTS: dict[str, str] = {
    "userName": "profile.login",
    "externalId": "id",
    "active": "status",
    "displayName": "profile.displayName",
    "nickName": "profile.nickName",
    "title": "profile.title",
    "userType": "profile.userType",
    "preferredLanguage": "profile.preferredLanguage",
    "locale": "profile.locale",
    "timezone": "profile.timezone",
    "name.givenName": "profile.firstName",
    "name.familyName": "profile.lastName",
    _EWORK: "profile.email",
    _PHONE.format("work"): "profile.primaryPhone",
    _PHONE.format("mobile"): "profile.mobilePhone",
    _ADDR + "streetAddress": "profile.streetAddress",
    _ADDR + "locality": "profile.city",
    _ADDR + "region": "profile.state",
    _ADDR + "postalCode": "profile.zipCode",
    _ADDR + "country": "profile.countryCode",
    _ENT + "employeeNumber": "profile.employeeNumber",
    _ENT + "department": "profile.department",
    _ENT + "organization": "profile.organization",
    _ENT + "division": "profile.division",
    _ENT + "costCenter": "profile.costCenter",
    _ENT + "manager": "profile.managerId",
}
OKTA_GROUP_DEFAULTS: dict[str, str] = {"displayName": "profile.name", "externalId": "id"}

# Okta user statuses the SCIM app sees as active=false (deactivated or suspended users).
OKTA_INACTIVE = frozenset({"DEPROVISIONED", "SUSPENDED"})


def _entra_active(obj: dict[str, Any]) -> Any:
    """Not([IsSoftDeleted]): false for a disabled user (accountEnabled false) or a deleted one."""
    if REMOVED in obj:
        return False
    enabled = obj.get("accountEnabled")
    return None if enabled is None else enabled is True


def _join_names(obj: dict[str, Any]) -> Any:
    parts = [p for p in (obj.get("givenName"), obj.get("surname")) if isinstance(p, str) and p]
    return " ".join(parts) or None


def _okta_active(obj: dict[str, Any]) -> Any:
    status = obj.get("status")
    return None if status is None else status not in OKTA_INACTIVE


# name -> (function, provider attributes it reads)
EXPRESSIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    "Not([IsSoftDeleted])": (_entra_active, ("accountEnabled",)),
    'Join(" ", [givenName], [surname])': (_join_names, ("givenName", "surname")),
    "status": (_okta_active, ("status",)),
}
_PATH = re.compile(r"^[A-Za-z_@$][\w@$.-]*(\[\d+\])?$")


def _canonical_target(name: str, targets: tuple[str, ...], where: str) -> str:
    if name in targets:
        return name
    if name in _ENTERPRISE_ATTRS and _ENT + name in targets:
        return _ENT + name
    raise ConfigError(
        f"{where}: {name!r} is not a SCIM attribute recon maps (use one of: {', '.join(targets)})"
    )


@dataclass(frozen=True)
class _Rule:
    target: str
    source: str
    reads: tuple[str, ...]  # dotted provider paths consumed (kept out of the extension)
    slot: str = ""  # where the value goes: "work", "home", "phone", "address", "enterprise", "name", ""
    part: str = ""  # the attribute within the slot (phone type, address part, enterprise/name attribute)

    def value(self, obj: dict[str, Any]) -> Any:
        expression = EXPRESSIONS.get(self.source)
        if expression is not None:
            return expression[0](obj)
        parts = self.parts
        if len(parts) == 1:
            return obj.get(parts[0])
        if len(parts) == 2:
            inner = obj.get(parts[0])
            return inner.get(parts[1]) if isinstance(inner, dict) else None
        return lookup(obj, self.source)

    @functools.cached_property
    def parts(self) -> tuple[str, ...]:
        """The path's names when it is a plain dotted path (no index, not an expression)."""
        if self.source in EXPRESSIONS or "[" in self.source:
            return ()
        return tuple(self.source.split("."))


def _placed(target: str) -> tuple[str, str]:
    """(slot, part) of a SCIM target, decided once per rule rather than per resource."""
    if target == _EWORK:
        return "work", ""
    if target == _EHOME:
        return "home", ""
    if target.startswith("phoneNumbers"):
        return "phone", target.split('"')[1]
    if target.startswith(_ADDR):
        return "address", target[len(_ADDR) :]
    if target.startswith(_ENT):
        return "enterprise", target[len(_ENT) :]
    if target.startswith("name."):
        return "name", target[5:]
    return "", target


def lookup(obj: dict[str, Any], path: str) -> Any:
    """The value at a dotted path with an optional trailing ``[n]`` (None when absent)."""
    index: int | None = None
    if path.endswith("]"):
        path, _, rest = path.rpartition("[")
        index = int(rest[:-1])
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if index is not None:
        return value[index] if isinstance(value, list) and len(value) > index else None
    return value


def _rules(
    defaults: dict[str, str], overrides: dict[str, str], targets: tuple[str, ...], where: str
) -> tuple[_Rule, ...]:
    table = dict(defaults)
    for name, source in overrides.items():
        target = _canonical_target(name, targets, where)
        if source == "":
            table.pop(target, None)
            continue
        if source not in EXPRESSIONS and not _PATH.match(source):
            raise ConfigError(
                f"{where}.{name}: {source!r} is neither a provider attribute path nor a known expression"
            )
        table[target] = source
    rules = []
    for target, source in table.items():
        expression = EXPRESSIONS.get(source)
        reads = expression[1] if expression else (source.split("[")[0],)
        rules.append(_Rule(target, source, reads, *_placed(target)))
    return tuple(rules)


@dataclass(frozen=True)
class Mapping:
    """How one provider system's objects become SCIM resources."""

    kind: str  # "entra" | "okta"
    users: tuple[_Rule, ...]
    groups: tuple[_Rule, ...]

    @functools.cached_property
    def _user_consumed(self) -> frozenset[str]:
        return _consumed(self.users)

    @functools.cached_property
    def _group_consumed(self) -> frozenset[str]:
        return _consumed(self.groups)

    @property
    def user_extension(self) -> str:
        return ENTRA_USER if self.kind == "entra" else OKTA_USER

    @property
    def group_extension(self) -> str:
        return ENTRA_GROUP if self.kind == "entra" else OKTA_GROUP

    def table(self) -> dict[str, dict[str, str]]:
        """The effective mapping (for the manifest and the docs)."""
        return {
            "users": {r.target: r.source for r in self.users},
            "groups": {r.target: r.source for r in self.groups},
        }

    def user_select(self) -> list[str]:
        """Top-level provider attributes the user mapping reads (Graph ``$select``)."""
        wanted = {"id", "accountEnabled", "createdDateTime"}
        for rule in self.users:
            wanted.update(path.split(".")[0] for path in rule.reads if path != "manager")
        return sorted(wanted)

    def group_select(self) -> list[str]:
        """Top-level provider attributes the group mapping reads (Graph ``$select``)."""
        wanted = {"id", "createdDateTime", "mailNickname", "securityEnabled", "mailEnabled", "groupTypes"}
        for rule in self.groups:
            wanted.update(path.split(".")[0] for path in rule.reads)
        return sorted(wanted)

    def user(self, obj: dict[str, Any], created: str | None, last_modified: str | None) -> dict[str, Any]:
        """The SCIM 2.0 User for a provider user object (``manager`` already reduced to an id)."""
        resource: dict[str, Any] = {"schemas": [USER_SCHEMA, ENTERPRISE_USER, self.user_extension]}
        resource["id"] = obj.get("id")
        emails: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []
        address: dict[str, Any] = {}
        enterprise: dict[str, Any] = {}
        for rule in self.users:
            value = rule.value(obj)
            if value is None or value == "":
                continue
            slot = rule.slot
            if not slot:
                resource[rule.part] = value
            elif slot == "name":
                resource.setdefault("name", {})[rule.part] = value
            elif slot == "enterprise":
                enterprise[rule.part] = {"value": value} if rule.part == "manager" else value
            elif slot == "work":
                emails.insert(0, {"value": value, "type": "work", "primary": True})
            elif slot == "home":
                emails.append({"value": value, "type": "home", "primary": False})
            elif slot == "phone":
                phones.append({"value": value, "type": rule.part, "primary": rule.part == "work"})
            else:
                address[rule.part] = value
        if emails:
            resource["emails"] = emails
        if phones:
            resource["phoneNumbers"] = phones
        if address:
            resource["addresses"] = [{"type": "work", **address}]
        if enterprise:
            resource[ENTERPRISE_USER] = enterprise
        resource[self.user_extension] = _unmapped(obj, self._user_consumed)
        resource["meta"] = _meta("User", created, last_modified)
        return resource

    def group(
        self,
        obj: dict[str, Any],
        members: Iterable[dict[str, Any]],
        created: str | None,
        last_modified: str | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The SCIM 2.0 Group for a provider group object and its members (``{value, type}``)."""
        resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA, self.group_extension], "id": obj.get("id")}
        for rule in self.groups:
            value = rule.value(obj)
            if value is not None and value != "":
                resource[rule.target] = value
        resource["members"] = list(members)
        ext = _unmapped(obj, self._group_consumed)
        ext.update(extra or {})
        resource[self.group_extension] = ext
        resource["meta"] = _meta("Group", created, last_modified)
        return resource


def _meta(resource_type: str, created: str | None, last_modified: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": resource_type}
    if created:
        meta["created"] = created
    if last_modified:
        meta["lastModified"] = last_modified
    return meta


def _consumed(rules: tuple[_Rule, ...]) -> frozenset[str]:
    return frozenset({path for rule in rules for path in rule.reads} | {"id"})


def _unmapped(obj: dict[str, Any], consumed: frozenset[str]) -> dict[str, Any]:
    """``obj`` without what the rules consumed, ``id``, OData annotations and Okta's ``_links``.

    SCIM allows one level of sub-attributes (RFC 7643 §2.4): a value nested deeper (Okta's
    ``credentials.provider``) is kept as its JSON text.
    """
    kept: dict[str, Any] = {}
    for key, value in obj.items():
        if key in consumed or key == "_links" or key.startswith("@odata."):
            continue
        if isinstance(value, dict):
            inner = {k: _flat(v) for k, v in value.items() if f"{key}.{k}" not in consumed}
            if inner:
                kept[key] = inner
            continue
        if isinstance(value, list):
            kept[key] = [
                {k: _flat(v) for k, v in item.items()} if isinstance(item, dict) else _flat(item)
                for item in value
            ]
            continue
        kept[key] = value
    return kept


def _flat(value: Any) -> Any:
    """A sub-attribute value: objects and lists below the first level become JSON text."""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode("utf-8")
    return value


def mapping_for(kind: str, users: dict[str, str], groups: dict[str, str], where: str) -> Mapping:
    """The mapping of a system: the kind's defaults with ``users``/``groups`` overrides applied."""
    if kind == "entra":
        user_defaults, group_defaults = ENTRA_USER_DEFAULTS, ENTRA_GROUP_DEFAULTS
    elif kind == "okta":
        user_defaults, group_defaults = OKTA_USER_DEFAULTS, OKTA_GROUP_DEFAULTS
    else:
        raise ConfigError(f"{where}: kind {kind!r} has no provider mapping")
    return Mapping(
        kind,
        _rules(user_defaults, users, USER_TARGETS, f"{where}.mapping"),
        _rules(group_defaults, groups, GROUP_TARGETS, f"{where}.group_mapping"),
    )
