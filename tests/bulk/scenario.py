"""A small IdP and a drifted target (seeded into a real scim2-server) covering every remediated kind.

Source ``idp`` (cycle c1) and what the target holds:

- s01 alice: matched by externalId, no drift
- s02 bob: inactive in the source, active in the target -> delayed_deactivation
- s03 carol, s06 frank: active, no target account -> missing_in_target (and memberships)
- s04 dave: department and title differ -> attribute_mismatch x2
- s05 erin: active in the source, inactive in the target -> delayed_activation
- s07 gina: inactive, no target account -> nothing
- s08 hank: matched by userName (no externalId in the target)
- target-only olga (active) -> orphaned_in_target critical; oscar (inactive) -> low
- staff: target misses dave, has bob -> membership_missing, membership_excess; carol, frank are new
- admins (privileged): target has dave too -> membership_excess (critical)
- new-team (alice, frank, nested sub-team) and sub-team (hank): group_missing_in_target
- legacy: target-only group -> group_orphaned_in_target (left alone without --delete-orphans)
"""

from __future__ import annotations

from typing import Any

from scim_server import ScimServer

from recon.config import Config, ReconcileConfig
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA
from recon.store import Store
from tests.bulk.helpers import group, user, write_export
from tests.bulk.live import export_server, record_capabilities

CONFIG = Config(reconcile={("idp", "app"): ReconcileConfig("idp", "app", privileged_groups=("admins",))})
REMEDIATED = {
    "missing_in_target",
    "delayed_deactivation",
    "delayed_activation",
    "attribute_mismatch",
    "group_missing_in_target",
    "membership_missing",
    "membership_excess",
}


def _person(uid: str, name: str, active: bool, **extra: Any) -> dict[str, Any]:
    given, family = name.capitalize(), "Example"
    return user(
        uid,
        f"{name}@example.com",
        active=active,
        name={"givenName": given, "familyName": family},
        emails=[{"value": f"{name}@example.com", "type": "work", "primary": True}],
        title=extra.pop("title", "Engineer"),
        department=extra.pop("department", "R&D"),
        **extra,
    )


SOURCE = [
    _person("s01", "alice", True),
    _person("s02", "bob", False),
    _person("s03", "carol", True),
    _person("s04", "dave", True, title="Lead", department="Platform"),
    _person("s05", "erin", True),
    _person("s06", "frank", True),
    _person("s07", "gina", False),
    _person("s08", "hank", True),
    group("sg1", "staff", ["s01", "s03", "s04", "s06"]),
    group("sg2", "admins", ["s01"]),
    group("sg3", "new-team", ["s01", "s06", "g:sg4"]),
    group("sg4", "sub-team", ["s08"]),
]


def _target_user(source: dict[str, Any], *, external: bool = True, **changes: Any) -> dict[str, Any]:
    payload = {k: v for k, v in source.items() if k not in ("id", "meta")}
    payload["schemas"] = [USER_SCHEMA, ENTERPRISE_USER]
    if external:
        payload["externalId"] = source["id"]
    department = changes.pop("department", None)
    if department is not None:
        payload[ENTERPRISE_USER] = {"department": department}
    payload.update(changes)
    return payload


def build(store: Store, server: ScimServer, cycle: str = "c1") -> dict[str, str]:
    """Write the idp export, seed the target server, export it as ``app`` at ``cycle``; returns target ids."""
    write_export(store, "idp", cycle, SOURCE)
    by_id = {r["id"]: r for r in SOURCE}
    ids = {
        "alice": server.create_user(_target_user(by_id["s01"])),
        "bob": server.create_user(_target_user(by_id["s02"], active=True)),
        "dave": server.create_user(_target_user(by_id["s04"], title="Engineer", department="R&D")),
        "erin": server.create_user(_target_user(by_id["s05"], active=False)),
        "hank": server.create_user(_target_user(by_id["s08"], external=False)),
        "olga": server.create_user(
            {"schemas": [USER_SCHEMA], "userName": "olga@example.com", "active": True}
        ),
        "oscar": server.create_user(
            {"schemas": [USER_SCHEMA], "userName": "oscar@example.com", "active": False}
        ),
    }

    def members(*names: str) -> list[dict[str, str]]:
        return [{"value": ids[n], "type": "User"} for n in names]

    ids["staff"] = server.create_group(
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "staff",
            "externalId": "sg1",
            "members": members("alice", "bob"),
        }
    )
    ids["admins"] = server.create_group(
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "admins",
            "externalId": "sg2",
            "members": members("alice", "olga", "dave"),
        }
    )
    ids["legacy"] = server.create_group({"schemas": [GROUP_SCHEMA], "displayName": "legacy", "members": []})
    export_server(store, "app", server, cycle)
    record_capabilities(store, "app", server)
    return ids


def copy_source(store: Store, cycle: str) -> None:
    """The idp export again under ``cycle`` (the IdP did not change), so the target can be reconciled then."""
    write_export(store, "idp", cycle, SOURCE)
