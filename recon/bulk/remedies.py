"""Turn reconcile findings into ordered SCIM operations (before chunking).

One operation per target resource and purpose, so each carries the resource's export
version as ``If-Match`` (a second PATCH on the same resource would be refused as stale):

1. accounts that must lose access: PATCH ``active=false`` for delayed deactivations and active
   orphans (with that user's attribute fixes in the same PATCH), or DELETE with ``--delete-orphans``;
2. POST the missing users;
3. POST the missing groups (nested new groups after their members), members by ``bulkId``;
4. PATCH existing groups: add missing members (created ones by ``bulkId``), remove excess ones;
5. PATCH the remaining user drift (attributes, delayed activation);
6. DELETE orphaned groups (only with ``--delete-orphans``).

An operation too large for one request is split: members beyond the first part go into
further PATCH ``add members`` operations on the same group (only the first carries If-Match).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from recon.bulk.chunking import operation_size
from recon.bulk.model import BULK_ID_PREFIX, BulkOperation
from recon.bulk.payloads import attribute_patch, group_create, patch_body, user_create
from recon.errors import UsageError
from recon.findings import FINDING_IDENTITY

__all__ = [
    "FINDING_KEYS",
    "FINDING_ROW_COLUMNS",
    "NEW_MEMBERSHIP_COLUMNS",
    "PlannedOp",
    "RemedyBuilder",
    "Skipped",
    "finding_key",
]

FINDING_KEYS = FINDING_IDENTITY
# the columns of sql/bulk_plan_new_memberships.sql, in its order
NEW_MEMBERSHIP_COLUMNS = (
    "source_group_id",
    "group_is_new",
    "target_group_id",
    "target_group_version",
    "source_member_id",
    "member_type",
    "member_is_new",
    "target_member_id",
)
# the columns of sql/bulk_plan_findings.sql, in its order (the finding's identity first)
FINDING_ROW_COLUMNS = (
    *FINDING_KEYS,
    "source_raw",
    "target_version",
    "target_active",
    "member_type",
)
_PHASES = ("revoke", "create_user", "create_group", "group_members", "update_user", "delete_group")


def finding_key(row: dict[str, Any]) -> dict[str, Any]:
    """The identifying columns of a finding (CONTRACT §4 set-equality key), nulls left out."""
    return {key: row[key] for key in FINDING_KEYS if row.get(key) is not None}


@dataclass
class PlannedOp:
    """One operation of the plan and what it remediates."""

    operation: BulkOperation
    kind: str
    phase: str
    target_id: str | None = None
    source_id: str | None = None
    remediates: list[dict[str, Any]] = field(default_factory=list)
    lookup: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The op's entry in plan.json: what its chunk file does not say (the method, path,
        If-Match and ``bulkId:`` references are in the operation as sent)."""
        return {
            "bulk_id": self.operation.bulk_id,
            "kind": self.kind,
            "target_id": self.target_id,
            "source_id": self.source_id,
            "lookup": [list(item) for item in self.lookup],
            "remediates": self.remediates,
        }


@dataclass(frozen=True)
class Skipped:
    """A finding the plan does not remediate, and why."""

    finding: dict[str, Any]
    reason: str


@dataclass
class _UserChange:
    target_id: str
    version: str | None
    operations: list[dict[str, Any]] = field(default_factory=list)
    remediates: list[dict[str, Any]] = field(default_factory=list)
    revoke: bool = False


@dataclass
class _GroupChange:
    target_id: str  # a target id, or "bulkId:<g>" for a group the plan creates
    version: str | None
    adds: list[tuple[str, str]] = field(default_factory=list)  # (value, type): a dict each only when resolved
    removes: list[str] = field(default_factory=list)
    remediates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _NewGroup:
    source_id: str
    raw: str
    remediates: list[dict[str, Any]]
    members: list[tuple[str, str, bool]] = field(default_factory=list)  # (value, type, is new group)


class RemedyBuilder:
    """Collects findings and new memberships; :meth:`operations` returns the ordered plan."""

    def __init__(
        self,
        *,
        match_rules: Sequence[tuple[str, str]],
        group_match_rules: Sequence[tuple[str, str]],
        use_if_match: bool,
        delete_orphans: bool,
        max_operation_bytes: int,
        id_budget: int,
        manager_of: Callable[[str], str | None] = lambda source_id: None,
        extensions: Iterable[str] | None = None,
    ) -> None:
        self.match_rules = tuple(match_rules)
        self.group_match_rules = tuple(group_match_rules)
        self.use_if_match = use_if_match
        self.delete_orphans = delete_orphans
        self.max_operation_bytes = max_operation_bytes
        self.id_budget = id_budget
        self.manager_of = manager_of
        self.extensions = tuple(extensions) if extensions is not None else None
        self.skipped: list[Skipped] = []
        self._users: dict[str, _UserChange] = {}
        self._creates: dict[str, tuple[str, dict[str, Any]]] = {}  # source id -> (raw, finding)
        self._new_groups: dict[str, _NewGroup] = {}
        self._groups: dict[str, _GroupChange] = {}
        self._deletes: list[PlannedOp] = []
        self._counter = 0

    # -- collecting ----------------------------------------------------------------------
    def _version(self, value: Any) -> str | None:
        return str(value) if self.use_if_match and value else None

    def _user(self, row: dict[str, Any]) -> _UserChange:
        target_id = str(row["target_id"])
        change = self._users.get(target_id)
        if change is None:
            change = self._users[target_id] = _UserChange(target_id, self._version(row.get("target_version")))
        return change

    def _group(self, target_group_id: str, version: Any) -> _GroupChange:
        change = self._groups.get(target_group_id)
        if change is None:
            change = self._groups[target_group_id] = _GroupChange(target_group_id, self._version(version))
        return change

    def add_finding(self, row: dict[str, Any]) -> None:
        """Plan the remediation of one finding row (of ``sql/bulk_plan_findings.sql``)."""
        kind = row["kind"]
        key = finding_key(row)
        if kind == "ambiguous_match":
            self.skipped.append(
                Skipped(key, "ambiguous match: a person must decide which records belong together")
            )
        elif kind in ("missing_in_target", "group_missing_in_target") and not row.get("source_raw"):
            self.skipped.append(Skipped(key, "the source record is not in the source export"))
        elif kind == "missing_in_target":
            self._create(row["source_id"], row["source_raw"], key)
        elif kind == "group_missing_in_target":
            self._new_groups[str(row["group_id"])] = _NewGroup(
                str(row["group_id"]), str(row["source_raw"]), [key]
            )
        elif kind == "orphaned_in_target":
            self._orphan(row, key)
        elif kind in ("delayed_deactivation", "delayed_activation"):
            change = self._user(row)
            revoke = kind == "delayed_deactivation"
            change.operations.append({"op": "replace", "path": "active", "value": not revoke})
            change.remediates.append(key)
            change.revoke = change.revoke or revoke
        elif kind == "attribute_mismatch":
            self._attribute(row, key)
        elif kind in ("membership_missing", "membership_excess"):
            group = self._group(str(row["target_group_id"]), row.get("target_version"))
            self._membership(group, kind, row["target_id"], row.get("member_type"), key)
        elif kind == "group_orphaned_in_target":
            if self.delete_orphans:
                self._delete("Group", str(row["target_group_id"]), row.get("target_version"), key)
            else:
                self.skipped.append(Skipped(key, "orphaned group: deleted only with --delete-orphans"))
        else:
            self.skipped.append(Skipped(key, f"no remediation for finding kind {kind!r}"))

    def add_findings(self, rows: Iterable[Sequence[Any]]) -> None:
        """:meth:`add_finding` of rows given as tuples in :data:`FINDING_ROW_COLUMNS` order (no dict
        per row for the many kinds: a 1M-user plan reads 240,000 findings, 180,000 of them
        memberships and creations)."""
        at = {name: index for index, name in enumerate(FINDING_ROW_COLUMNS)}
        kind_at, source_id_at, target_id_at = at["kind"], at["source_id"], at["target_id"]
        group_at, version_at, raw_at, type_at = (
            at["target_group_id"],
            at["target_version"],
            at["source_raw"],
            at["member_type"],
        )
        group: _GroupChange | None = None  # the rows come by kind and group: look a group up once
        for row in rows:
            kind = row[kind_at]
            membership = kind == "membership_missing" or kind == "membership_excess"
            if not membership and not (kind == "missing_in_target" and row[raw_at]):
                self.add_finding(dict(zip(FINDING_ROW_COLUMNS, row, strict=True)))
                continue
            # finding_key's dict from the row's leading FINDING_KEYS columns
            key = {name: value for name, value in zip(FINDING_KEYS, row, strict=False) if value is not None}
            if membership:
                target_group_id = str(row[group_at])
                if group is None or group.target_id != target_group_id:
                    group = self._group(target_group_id, row[version_at])
                self._membership(group, kind, row[target_id_at], row[type_at], key)
            else:
                self._create(row[source_id_at], row[raw_at], key)

    def _create(self, source_id: Any, raw: Any, key: dict[str, Any]) -> None:
        self._creates[str(source_id)] = (str(raw), key)

    @staticmethod
    def _membership(
        group: _GroupChange, kind: str, member: Any, member_type: Any, key: dict[str, Any]
    ) -> None:
        member = str(member)
        if kind == "membership_missing":
            group.adds.append((member, str(member_type or "User")))
        else:
            group.removes.append(member)
        group.remediates.append(key)

    def _orphan(self, row: dict[str, Any], key: dict[str, Any]) -> None:
        if self.delete_orphans:
            self._delete("User", str(row["target_id"]), row.get("target_version"), key)
        elif row.get("target_active") is False:
            self.skipped.append(
                Skipped(key, "orphaned account already inactive (delete with --delete-orphans)")
            )
        else:
            change = self._user(row)
            change.operations.append({"op": "replace", "path": "active", "value": False})
            change.remediates.append(key)
            change.revoke = True

    def _attribute(self, row: dict[str, Any], key: dict[str, Any]) -> None:
        raw = row.get("source_raw")
        if not raw:
            self.skipped.append(Skipped(key, "the source record is not in the source export"))
            return
        source = orjson.loads(raw)
        manager_id = None
        attribute = str(row["attribute"])
        if "manager" in attribute.lower():
            manager = (source.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User") or {}).get(
                "manager"
            )
            if isinstance(manager, dict) and manager.get("value"):
                manager_id = self.manager_of(str(manager["value"]))
        operations = attribute_patch(attribute, source, manager_target_id=manager_id)
        if operations is None:
            self.skipped.append(Skipped(key, f"attribute {attribute!r} cannot be set from the source"))
            return
        change = self._user(row)
        for operation in operations:
            if operation not in change.operations:
                change.operations.append(operation)
        change.remediates.append(key)

    def _delete(self, resource_type: str, target_id: str, version: Any, key: dict[str, Any]) -> None:
        endpoint = "Users" if resource_type == "User" else "Groups"
        op = BulkOperation("DELETE", f"/{endpoint}/{target_id}", self._bulk_id("d"), self._version(version))
        phase = "revoke" if resource_type == "User" else "delete_group"
        self._deletes.append(PlannedOp(op, f"delete_{resource_type.lower()}", phase, target_id, None, [key]))

    def add_new_membership(self, row: dict[str, Any]) -> None:
        """Plan one membership of a created group or member (``sql/bulk_plan_new_memberships.sql``)."""
        self.add_new_memberships([tuple(row.get(column) for column in NEW_MEMBERSHIP_COLUMNS)])

    def add_new_memberships(self, rows: Iterable[Sequence[Any]]) -> None:
        """:meth:`add_new_membership` of rows given as tuples in :data:`NEW_MEMBERSHIP_COLUMNS` order
        (no dict per row: a 1M-user plan places 400,000 memberships)."""
        change: _GroupChange | None = None  # the rows come by group: look the group up once per run
        for row in rows:
            (
                source_group_id,
                group_is_new,
                target_group_id,
                version,
                source_member_id,
                member_type,
                member_is_new,
                target_member_id,
            ) = row
            member_type = str(member_type)
            if member_is_new:
                prefix = "u" if member_type == "User" else "g"
                value = f"{BULK_ID_PREFIX}{prefix}:{source_member_id}"  # placeholder, renamed later
            else:
                value = str(target_member_id)
            if group_is_new:
                group = self._new_groups.get(str(source_group_id))
                if group is not None:
                    group.members.append((value, member_type, bool(member_is_new) and member_type == "Group"))
            else:
                target_group_id = str(target_group_id)
                if change is None or change.target_id != target_group_id:
                    change = self._group(target_group_id, version)
                change.adds.append((value, member_type))

    # -- ordering ------------------------------------------------------------------------
    def _bulk_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def operations(self) -> list[PlannedOp]:
        """Every planned operation, in the order they must run."""
        ops: list[PlannedOp] = []
        user_ids = {sid: self._bulk_id("u") for sid in sorted(self._creates)}
        group_ids = {sid: self._bulk_id("g") for sid in self._group_order()}
        # placeholder reference -> the reference to the created resource's bulkId
        rename = {f"{BULK_ID_PREFIX}u:{sid}": f"{BULK_ID_PREFIX}{bid}" for sid, bid in user_ids.items()} | {
            f"{BULK_ID_PREFIX}g:{sid}": f"{BULK_ID_PREFIX}{bid}" for sid, bid in group_ids.items()
        }

        def ref(value: str) -> str | None:
            return rename.get(value) if value.startswith(BULK_ID_PREFIX) else value

        ops += [d for d in self._deletes if d.phase == "revoke"]
        ops += self._user_patches(revoke=True)
        for source_id, bulk_id in user_ids.items():
            raw, key = self._creates[source_id]
            data = user_create(source_id, raw, match_rules=self.match_rules, **self._ext())
            op = BulkOperation("POST", "/Users", bulk_id, None, data)
            ops.append(
                PlannedOp(op, "create_user", "create_user", None, source_id, [key], _lookup(data, "User"))
            )
        deferred: list[tuple[str, dict[str, str]]] = []
        placed: set[str] = set()
        for source_id, bulk_id in group_ids.items():
            group = self._new_groups[source_id]
            members = []
            for value, member_type, is_new_group in group.members:
                resolved = ref(value)
                if resolved is None:
                    continue  # its creation is not in the plan (skipped)
                entry = {"value": resolved, "type": member_type}
                if is_new_group and resolved[len(BULK_ID_PREFIX) :] not in placed:
                    deferred.append((bulk_id, entry))  # a cycle of new groups: added after both exist
                else:
                    members.append(entry)
            ops += self._group_post(source_id, bulk_id, group, members)
            placed.add(bulk_id)
        for target_group_id in sorted(self._groups):
            change = self._groups[target_group_id]
            adds = [  # ref() inlined: a plan resolves every member it adds (490,000 at 1M users)
                {"value": v, "type": member_type}
                for value, member_type in change.adds
                if (v := rename.get(value) if value.startswith(BULK_ID_PREFIX) else value) is not None
            ]
            ops += self._group_patch(target_group_id, change.version, adds, change.removes, change.remediates)
        for bulk_id in sorted({b for b, _ in deferred}):
            adds = [entry for b, entry in deferred if b == bulk_id]
            ops += self._group_patch(f"{BULK_ID_PREFIX}{bulk_id}", None, adds, [], [])
        ops += self._user_patches(revoke=False)
        ops += [d for d in self._deletes if d.phase == "delete_group"]
        return ops

    def _ext(self) -> dict[str, Any]:
        return {} if self.extensions is None else {"extensions": self.extensions}

    def _group_order(self) -> list[str]:
        """New groups, each after the new groups among its members (cycles broken by id order)."""
        pending = sorted(self._new_groups)
        order: list[str] = []
        done: set[str] = set()
        while pending:
            progress = False
            for source_id in list(pending):
                needs = {
                    v.split(":", 2)[2]
                    for v, _, is_new_group in self._new_groups[source_id].members
                    if is_new_group
                } - {source_id}
                if needs <= done or not (needs & set(pending)):
                    order.append(source_id)
                    done.add(source_id)
                    pending.remove(source_id)
                    progress = True
            if not progress:  # a cycle: take the smallest id, its back edges become PATCHes
                order.append(pending.pop(0))
                done.add(order[-1])
        return order

    def _user_patches(self, *, revoke: bool) -> list[PlannedOp]:
        ops = []
        for target_id in sorted(self._users):
            change = self._users[target_id]
            if change.revoke != revoke or not change.operations:
                continue
            op = BulkOperation(
                "PATCH",
                f"/Users/{target_id}",
                self._bulk_id("p"),
                change.version,
                patch_body(change.operations),
            )
            self._check_size(op)
            kind = "deactivate_user" if revoke else "update_user"
            ops.append(
                PlannedOp(op, kind, "revoke" if revoke else "update_user", target_id, None, change.remediates)
            )
        return ops

    def _group_post(
        self, source_id: str, bulk_id: str, group: _NewGroup, members: list[dict[str, str]]
    ) -> list[PlannedOp]:
        bare = group_create(source_id, group.raw, [], match_rules=self.group_match_rules)
        room = self.max_operation_bytes - operation_size(
            BulkOperation("POST", "/Groups", bulk_id, None, bare)
        )
        first, rest = self._take_members(members, room - len(',"members":[]'))
        data = group_create(source_id, group.raw, first, match_rules=self.group_match_rules)
        op = BulkOperation("POST", "/Groups", bulk_id, None, data)
        self._check_size(op)
        planned = [
            PlannedOp(
                op, "create_group", "create_group", None, source_id, group.remediates, _lookup(data, "Group")
            )
        ]
        if rest:
            planned += self._group_patch(f"{BULK_ID_PREFIX}{bulk_id}", None, rest, [], [])
        return planned

    def _group_patch(
        self,
        target_group_id: str,
        version: str | None,
        adds: list[dict[str, str]],
        removes: list[str],
        remediates: list[dict[str, Any]],
    ) -> list[PlannedOp]:
        planned: list[PlannedOp] = []
        removals = [{"op": "remove", "path": f'members[value eq "{member}"]'} for member in removes]
        while adds or removals:
            bulk_id = self._bulk_id("m")
            path = f"/Groups/{target_group_id}"
            room = self.max_operation_bytes - operation_size(
                BulkOperation("PATCH", path, bulk_id, version, patch_body([]))
            )
            body: list[dict[str, Any]] = []
            if adds:
                chosen, adds = self._take_members(
                    adds, room - len('{"op":"add","path":"members","value":[]},')
                )
                body.append({"op": "add", "path": "members", "value": chosen})
                room -= operation_size_of(body[0]) + 1
            while removals and operation_size_of(removals[0]) + 1 <= room:
                room -= operation_size_of(removals[0]) + 1
                body.append(removals.pop(0))
            if not body:
                raise UsageError(f"maxPayloadSize is too small for one membership change of {path}")
            op = BulkOperation("PATCH", path, bulk_id, version, patch_body(body))
            self._check_size(op)
            target_id = None if target_group_id.startswith(BULK_ID_PREFIX) else target_group_id
            planned.append(
                PlannedOp(op, "update_group_members", "group_members", target_id, None, remediates)
            )
            version, remediates = None, []  # continuation parts: no If-Match (adds/removes are idempotent)
        return planned

    def _take_members(
        self, members: list[dict[str, str]], room: int
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """The longest prefix of ``members`` whose JSON (budgeting created ids) fits in ``room`` bytes."""
        if members:  # most often all fit: one serialisation instead of one per member
            whole = len(orjson.dumps(members)) - 1  # each member and a comma
            whole += sum(
                max(0, self.id_budget - len(m["value"]))
                for m in members
                if m["value"].startswith(BULK_ID_PREFIX)
            )
            if whole <= room:
                return members[:], []
        taken = 0
        for member in members:
            cost = operation_size_of(member) + 1
            if member["value"].startswith(BULK_ID_PREFIX):
                cost += max(0, self.id_budget - len(member["value"]))
            if cost > room:
                break
            room -= cost
            taken += 1
        if taken == 0 and members:
            raise UsageError("maxPayloadSize is too small to hold even one group member per operation")
        return members[:taken], members[taken:]

    def _check_size(self, op: BulkOperation) -> None:
        if operation_size(op) > self.max_operation_bytes:
            raise UsageError(
                f"the operation {op.method} {op.path} is {operation_size(op)} bytes, more than fits "
                f"in one bulk request ({self.max_operation_bytes} bytes for operations)"
            )


def operation_size_of(value: Any) -> int:
    """Bytes of a JSON value in compact form."""
    return len(orjson.dumps(value))


def _lookup(data: dict[str, Any], resource_type: str) -> list[tuple[str, str]]:
    """Attributes that find this resource again if its creation is replayed (externalId first)."""
    found = []
    if isinstance(data.get("externalId"), str) and data["externalId"]:
        found.append(("externalId", data["externalId"]))
    name_attr = "userName" if resource_type == "User" else "displayName"
    if isinstance(data.get(name_attr), str) and data[name_attr]:
        found.append((name_attr, data[name_attr]))
    return found
