"""Schema faults for the simulator: mutate SCIM User resources and say what validate must find.

:func:`inject_schema_faults` picks about ``rate`` of the User resources of a list (each picked
user gets one fault, kinds taken in turn) and returns the exact findings ``recon validate``
reports for them, as :class:`InjectedFault` rows (kind, resource_type, id, attribute):

- ``undeclared_extension_attribute``: adds ``badgeNumber`` to the user's Enterprise User block
  (creating the block and listing its URN in ``schemas`` when needed) →
  ``undeclared_attribute`` on ``urn:…:enterprise:2.0:User:badgeNumber``;
- ``returned_password``: adds a ``password`` → ``leaked_attribute`` on ``password``;
- ``duplicate_primaries``: appends a second ``primary: true`` email after the existing primary
  one (so the flattened ``primary_email`` is unchanged) → ``multiple_primary`` on ``emails``;
  only users that already have a primary email are picked for it;
- ``user_name_case_collision``: appends a NEW User whose userName is the picked user's with the
  case of its letters swapped → ``user_name_collision`` on ``userName`` for both ids.

Only the new user of a case collision adds a resource; the other faults leave every
flattened column of the normalised tables as it was. The list is changed in place; the
same ``rng`` state gives the same faults. Resources must be valid RFC 7643 Users otherwise
(a resource that already breaks a rule keeps its own findings).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from recon.scim_columns import CORE_USER as USER_SCHEMA
from recon.scim_columns import ENTERPRISE_USER

__all__ = ["FAULT_KINDS", "InjectedFault", "inject_schema_faults"]

FAULT_KINDS = (
    "undeclared_extension_attribute",
    "returned_password",
    "duplicate_primaries",
    "user_name_case_collision",
)


@dataclass(frozen=True, order=True)
class InjectedFault:
    """One finding ``recon validate`` must report because of an injected fault."""

    kind: str
    resource_type: str
    id: str
    attribute: str
    fault: str


def _is_user(resource: Any) -> bool:
    if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
        return False
    schemas = resource.get("schemas")
    return isinstance(schemas, list) and USER_SCHEMA in schemas


def _has_primary_email(resource: dict[str, Any]) -> bool:
    emails = resource.get("emails")
    return isinstance(emails, list) and any(isinstance(e, dict) and e.get("primary") is True for e in emails)


def _swapped(user_name: Any, taken: set[str]) -> str | None:
    if not isinstance(user_name, str):
        return None
    variant = user_name.swapcase()
    if variant == user_name or variant in taken:
        return None
    return variant


def inject_schema_faults(
    resources: list[Any],
    rng: random.Random,
    rate: float,
    *,
    kinds: tuple[str, ...] = FAULT_KINDS,
) -> list[InjectedFault]:
    """Inject schema faults into about ``rate`` of the Users of ``resources`` (in place).

    Returns the findings validate must report, sorted. ``kinds`` chooses the faults (in turn).
    """
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"unknown schema fault(s) {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate {rate} is not between 0 and 1")
    users = [r for r in resources if _is_user(r)]
    picked = [u for u in users if rng.random() < rate]
    taken_ids = {u["id"] for u in users}
    folded: dict[str, list[str]] = {}
    for user in users:
        name = user.get("userName")
        if isinstance(name, str):
            folded.setdefault(name.lower(), []).append(user["id"])
    names = {u["userName"] for u in users if isinstance(u.get("userName"), str)}
    faults: list[InjectedFault] = []
    turn = 0
    for user in picked:
        for _attempt in range(len(kinds)):
            kind = kinds[turn % len(kinds)]
            turn += 1
            done = _apply(kind, user, resources, taken_ids, names, folded)
            if done:
                faults.extend(done)
                break
    return sorted(faults)


def _apply(
    kind: str,
    user: dict[str, Any],
    resources: list[Any],
    taken_ids: set[str],
    names: set[str],
    folded: dict[str, list[str]],
) -> list[InjectedFault]:
    rid = user["id"]
    if kind == "undeclared_extension_attribute":
        block = user.get(ENTERPRISE_USER)
        if block is None:
            block = user[ENTERPRISE_USER] = {}
        if not isinstance(block, dict) or "badgeNumber" in block:
            return []
        block["badgeNumber"] = f"B-{rid}"
        if ENTERPRISE_USER not in user["schemas"]:
            user["schemas"].append(ENTERPRISE_USER)
        return [InjectedFault("undeclared_attribute", "User", rid, f"{ENTERPRISE_USER}:badgeNumber", kind)]
    if kind == "returned_password":
        if user.get("password") not in (None, ""):
            return []
        user["password"] = f"s3cret-{rid}"
        return [InjectedFault("leaked_attribute", "User", rid, "password", kind)]
    if kind == "duplicate_primaries":
        if not _has_primary_email(user):
            return []
        user["emails"].append({"value": f"alias.{rid}@alias.example", "type": "other", "primary": True})
        return [InjectedFault("multiple_primary", "User", rid, "emails", kind)]
    # user_name_case_collision
    name = user.get("userName")
    variant = _swapped(name, names)
    new_id = f"{rid}-case"
    if variant is None or new_id in taken_ids or len(folded.get(str(name).lower(), [])) != 1:
        return []
    twin: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": new_id, "userName": variant, "active": True}
    if isinstance(user.get("meta"), dict):
        twin["meta"] = {
            k: v for k, v in user["meta"].items() if k in ("resourceType", "created", "lastModified")
        }
    resources.append(twin)
    taken_ids.add(new_id)
    names.add(variant)
    folded[variant.lower()].append(new_id)
    return [
        InjectedFault("user_name_collision", "User", rid, "userName", kind),
        InjectedFault("user_name_collision", "User", new_id, "userName", kind),
    ]
