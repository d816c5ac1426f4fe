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
import polars as pl

from recon.bulk.chunking import operation_size
from recon.bulk.model import BULK_ID_PREFIX, PATCH_OP, BulkOperation, built
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
_MEMBERSHIP_KINDS = ("membership_missing", "membership_excess")
# the kinds whose remediation changes the target account (RemedyBuilder._user)
_ACCOUNT_KINDS = ("attribute_mismatch", "delayed_deactivation", "delayed_activation", "orphaned_in_target")
# what orjson escapes in a string: a value without these is written as its UTF-8 text
_ESCAPED = r'["\\\x00-\x1f]'
_PHASES = ("revoke", "create_user", "create_group", "group_members", "update_user", "delete_group")


def finding_key(row: dict[str, Any]) -> dict[str, Any]:
    """The identifying columns of a finding (CONTRACT §4 set-equality key), nulls left out."""
    return {key: row[key] for key in FINDING_KEYS if row.get(key) is not None}


def _finding_key_of(row: Sequence[Any]) -> dict[str, Any]:
    """:func:`finding_key` of a row given as a tuple whose leading columns are :data:`FINDING_KEYS`
    (:data:`FINDING_ROW_COLUMNS`' order; the columns after them are not read)."""
    return {name: value for name, value in zip(FINDING_KEYS, row, strict=False) if value is not None}


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
    """Collects findings and new memberships; :meth:`operations` returns the ordered plan.

    Rows come one by one (:meth:`add_finding`, :meth:`add_findings`, :meth:`add_new_membership`,
    :meth:`add_new_memberships`) or as polars frames (:meth:`add_findings_frame`,
    :meth:`add_new_memberships_frame`, what ``recon bulk plan`` uses): the frames keep the
    memberships of existing groups and the accounts only (de)activated as columns, whose
    operations are written from them, byte for byte what the rows would give."""

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
        # memberships of existing target groups kept as columns until operations() (frame methods)
        self._membership_findings: pl.DataFrame | None = None
        self._existing_group_members: pl.DataFrame | None = None
        self._simple_users: pl.DataFrame | None = None  # see _simple_users_in

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
        self._flush_frames()
        self._add_finding(row)

    def _add_finding(self, row: dict[str, Any]) -> None:
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
        elif kind in _MEMBERSHIP_KINDS:
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
        self._flush_frames()
        self._add_finding_rows(rows)

    def _add_finding_rows(self, rows: Iterable[Sequence[Any]]) -> None:
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
            membership = kind in _MEMBERSHIP_KINDS
            if not membership and not (kind == "missing_in_target" and row[raw_at]):
                self._add_finding(dict(zip(FINDING_ROW_COLUMNS, row, strict=True)))
                continue
            key = _finding_key_of(row)
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
        self._flush_frames()
        self._add_new_membership_rows(rows)

    def _add_new_membership_rows(self, rows: Iterable[Sequence[Any]]) -> None:
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

    # -- collecting as columns -------------------------------------------------------------
    def add_findings_frame(self, rows: pl.DataFrame) -> None:
        """:meth:`add_findings` of a frame with the :data:`FINDING_ROW_COLUMNS`. The memberships of
        existing groups (100,000 of a 1M-user plan's findings) are kept as columns: their PATCHes
        are written from them by :meth:`operations` without a Python object per member; so are
        the accounts whose one finding (de)activates them (30,000)."""
        frame = rows.select(FINDING_ROW_COLUMNS)
        self._flush_simple_users()
        membership = pl.col("kind").is_in(_MEMBERSHIP_KINDS)
        keep = frame.filter(membership)
        if keep.is_empty() or not self._columns_allowed(
            keep, ("target_group_id", "target_id"), ("member_type", "target_version")
        ):
            self._flush_frames()
            rest = frame
        else:  # other kinds never touch a group change: planned first, the memberships' order is kept
            rest = frame.filter(~membership)
            if self._membership_findings is not None:
                keep = pl.concat([self._membership_findings, keep], how="vertical_relaxed")
            self._membership_findings = keep
        simple = self._simple_users_in(rest)
        if simple is not None:  # they make no skip and touch no other change: the order is kept
            self._simple_users = rest.filter(simple)
            rest = rest.filter(~simple)
        self._add_finding_rows(self._add_creations(rest).iter_rows())

    def _add_creations(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The users to create (80,000 at 1M users) taken from the columns: their source id, raw
        text and finding, as _add_finding_rows would keep them; the other rows returned."""
        if rows.schema["source_id"] != pl.String or rows.schema["source_raw"] != pl.String:
            return rows
        raw = pl.col("source_raw")
        creation = (pl.col("kind") == "missing_in_target") & raw.is_not_null() & (raw != "")
        made = rows.filter(creation)
        if made.is_empty() or made["source_id"].null_count():
            return rows
        keys = [_finding_key_of(identity) for identity in made.select(FINDING_KEYS).iter_rows()]
        # no other row touches a creation: taken first, the later row of a source id still wins
        entries = zip(made["source_raw"].to_list(), keys, strict=True)
        self._creates.update(zip(made["source_id"].to_list(), entries, strict=True))
        return rows.filter(~creation.fill_null(False))

    def _simple_users_in(self, rows: pl.DataFrame) -> pl.Expr | None:
        """The rows that are their account's only finding of the kinds that change an account, and
        (de)activate it: a PATCH of ``active`` each, written by :meth:`_user_patches` from columns.
        None when the per-row path must take every row (types it would turn with str(), a null
        account, changes of accounts made per row already)."""
        schema = rows.schema
        if (
            self._users
            or schema["target_id"] != pl.String
            or schema["target_version"] not in (pl.String, pl.Null)
            or schema["target_active"] not in (pl.Boolean, pl.Null)
        ):
            return None
        kind, target_id = pl.col("kind"), pl.col("target_id")
        account = kind.is_in(_ACCOUNT_KINDS)
        if rows.select((account & target_id.is_null()).any()).item():
            return None
        simple = kind.is_in(("delayed_deactivation", "delayed_activation"))
        if not self.delete_orphans:
            simple = simple | ((kind == "orphaned_in_target") & pl.col("target_active").fill_null(True))
        return simple & (account.cast(pl.Int64).sum().over("target_id") == 1)

    def _flush_simple_users(self) -> None:
        rows, self._simple_users = self._simple_users, None
        if rows is not None:
            self._add_finding_rows(rows.iter_rows())

    def add_new_memberships_frame(self, rows: pl.DataFrame) -> None:
        """:meth:`add_new_memberships` of a frame with the :data:`NEW_MEMBERSHIP_COLUMNS`; the rows
        of existing groups (400,000 at 1M users) are kept as columns like the membership findings."""
        frame = rows.select(NEW_MEMBERSHIP_COLUMNS)
        if any(frame.schema[c] != pl.Boolean for c in ("group_is_new", "member_is_new")):
            self.add_new_memberships(frame.iter_rows())  # truth as the per-row path tells it
            return
        existing = ~pl.col("group_is_new").fill_null(False)
        keep = frame.filter(existing)
        new_member = pl.col("member_is_new").fill_null(False)
        wanted = ("target_group_id", "member_type")
        complete = (
            self._columns_allowed(keep, wanted, ("target_group_version",))
            and self._columns_allowed(keep.filter(new_member), ("source_member_id",))
            and self._columns_allowed(keep.filter(~new_member), ("target_member_id",))
        )
        if keep.is_empty() or not complete:
            self.add_new_memberships(frame.iter_rows())
            return
        self._add_new_membership_rows(frame.filter(~existing).iter_rows())  # created groups
        if self._existing_group_members is not None:
            keep = pl.concat([self._existing_group_members, keep], how="vertical_relaxed")
        self._existing_group_members = keep

    def _columns_allowed(
        self, frame: pl.DataFrame, columns: Sequence[str], nullable: Sequence[str] = ()
    ) -> bool:
        """Whether the column path may take these rows: ``columns`` strings without nulls and
        ``nullable`` strings (str() of anything else is the per-row path's), and no group change
        made per row already."""
        if self._groups:
            return False
        schema = frame.schema
        return all(schema[c] == pl.String and frame[c].null_count() == 0 for c in columns) and all(
            schema[c] in (pl.String, pl.Null) for c in nullable
        )

    def _flush_frames(self) -> None:
        """The memberships kept as columns handed to the per-row path (a caller mixing both)."""
        self._flush_simple_users()
        findings, members = self._membership_findings, self._existing_group_members
        self._membership_findings = self._existing_group_members = None
        if findings is not None:
            self._add_finding_rows(findings.iter_rows())
        if members is not None:
            self._add_new_membership_rows(members.iter_rows())

    def _frame_group_patches(self, rename: dict[str, str]) -> list[PlannedOp]:
        """The PATCHes of existing groups from the memberships kept as columns: the operations and
        bytes :meth:`_group_patch` makes of each group's changes (in target group id order), each
        member's JSON written by polars. A group whose changes need more than one operation, or
        whose values JSON must escape, goes through :meth:`_group_patch`."""
        findings, members = self._membership_findings, self._existing_group_members
        adds, removes, firsts = [], [], []
        offset = 0
        if findings is not None:
            numbered = findings.with_row_index("seq")
            kind, group = pl.col("kind"), pl.col("target_group_id").alias("g")
            member_type = pl.col("member_type")
            adds.append(
                numbered.filter(kind == "membership_missing").select(
                    group,
                    pl.col("seq"),
                    pl.col("target_id").alias("value"),
                    pl.when(member_type.is_null() | (member_type == ""))
                    .then(pl.lit("User"))
                    .otherwise(member_type)
                    .cast(pl.String)
                    .alias("type"),
                )
            )
            removes.append(
                numbered.filter(kind == "membership_excess").select(
                    group, pl.col("seq"), pl.col("target_id").alias("value")
                )
            )
            firsts.append(
                numbered.select(
                    group, pl.col("seq"), pl.col("target_version").cast(pl.String).alias("version")
                )
            )
            offset = findings.height
        if members is not None:
            numbered = members.with_row_index("seq", offset=offset)
            group, member_type = pl.col("target_group_id").alias("g"), pl.col("member_type")
            placeholder = pl.concat_str(
                pl.lit(BULK_ID_PREFIX),
                pl.when(member_type == "User").then(pl.lit("u")).otherwise(pl.lit("g")),
                pl.lit(":"),
                pl.col("source_member_id"),
            )
            adds.append(
                numbered.select(
                    group,
                    pl.col("seq"),
                    pl.when(pl.col("member_is_new").fill_null(False))
                    .then(placeholder)
                    .otherwise(pl.col("target_member_id"))
                    .alias("value"),
                    member_type.alias("type"),
                )
            )
            firsts.append(
                numbered.select(
                    group, pl.col("seq"), pl.col("target_group_version").cast(pl.String).alias("version")
                )
            )
        value = pl.col("value")
        renames = pl.DataFrame(
            {"value": list(rename), "renamed": list(rename.values())},
            schema={"value": pl.String, "renamed": pl.String},
        )
        added = (
            pl.concat([a.cast({"seq": pl.Int64}) for a in adds])
            .join(renames, on="value", how="left")
            .with_columns(  # a bulkId: reference becomes the created resource's, or goes
                value=pl.when(value.str.starts_with(BULK_ID_PREFIX)).then(pl.col("renamed")).otherwise(value),
                # the bulkId it refers to then (what BulkOperation.references would find), and
                # whether any other value spells one out (then they are searched for in its bytes)
                ref=pl.when(value.str.starts_with(BULK_ID_PREFIX)).then(
                    pl.col("renamed").str.slice(len(BULK_ID_PREFIX))
                ),
                mentions=(
                    ~value.str.starts_with(BULK_ID_PREFIX) & value.str.contains(BULK_ID_PREFIX, literal=True)
                )
                | pl.col("type").str.contains(BULK_ID_PREFIX, literal=True),
            )
            .filter(value.is_not_null())
            .sort("seq")
        )
        fragment = pl.concat_str(
            pl.lit('{"value":"'), value, pl.lit('","type":"'), pl.col("type"), pl.lit('"}')
        )
        slack = pl.when(value.str.starts_with(BULK_ID_PREFIX)).then(
            (pl.lit(self.id_budget) - value.str.len_chars().cast(pl.Int64)).clip(lower_bound=0)
        )
        plain = ~value.str.contains(_ESCAPED) & ~pl.col("type").str.contains(_ESCAPED)
        # each member's values computed over the column, then summed per group (expressions in
        # the aggregation are evaluated group by group: 3x the time)
        added_by_group = (
            added.select(
                "g",
                fragment.alias("adds"),
                fragment.str.len_bytes().cast(pl.Int64).alias("add_bytes"),
                slack.fill_null(0).alias("slack"),
                plain.alias("adds_plain"),
                "ref",
                "mentions",
            )
            .group_by("g", maintain_order=True)
            .agg(
                pl.col("adds").str.join(","),
                pl.len().alias("n_adds"),
                pl.col("add_bytes").sum(),
                pl.col("slack").sum(),
                pl.col("adds_plain").all(),
                pl.col("ref").drop_nulls().alias("refs"),
                pl.col("mentions").any().alias("adds_mention"),
            )
        )
        removal = pl.concat_str(
            pl.lit('{"op":"remove","path":"members[value eq \\"'), value, pl.lit('\\"]"}')
        )
        removed = pl.concat([r.cast({"seq": pl.Int64}) for r in removes]) if removes else None
        if removed is None or removed.is_empty():
            removed_by_group = pl.DataFrame(
                schema={
                    "g": pl.String,
                    "removes": pl.String,
                    "n_removes": pl.UInt32,
                    "remove_cost": pl.Int64,
                    "removes_plain": pl.Boolean,
                    "removes_mention": pl.Boolean,
                }
            )
        else:
            removed_by_group = (
                removed.sort("seq")
                .select(
                    "g",
                    removal.alias("removes"),
                    (removal.str.len_bytes().cast(pl.Int64) + 1).alias("remove_cost"),
                    (~value.str.contains(_ESCAPED)).alias("removes_plain"),
                    value.str.contains(BULK_ID_PREFIX, literal=True).alias("removes_mention"),
                )
                .group_by("g", maintain_order=True)
                .agg(
                    pl.col("removes").str.join(","),
                    pl.len().alias("n_removes"),
                    pl.col("remove_cost").sum(),
                    pl.col("removes_plain").all(),
                    pl.col("removes_mention").any(),
                )
            )
        groups = (
            pl.concat([f.cast({"seq": pl.Int64}) for f in firsts])
            .sort("seq")
            .group_by("g", maintain_order=True)
            .agg(pl.col("version").first())
            .join(added_by_group, on="g", how="left")
            .join(removed_by_group, on="g", how="left")
            .sort("g")
        )
        remediates: dict[str, list[dict[str, Any]]] = {}
        if findings is not None:
            group_at = FINDING_ROW_COLUMNS.index("target_group_id")
            for identity in findings.select(FINDING_ROW_COLUMNS[: len(FINDING_KEYS)]).iter_rows():
                remediates.setdefault(identity[group_at], []).append(_finding_key_of(identity))
        planned: list[PlannedOp] = []
        listed: tuple[dict[str, list[Any]], dict[str, list[Any]]] | None = None
        changes: list[dict[str, Any]] = groups.to_dicts()
        for change in changes:
            group_remediates = remediates.get(change["g"], [])
            ops = self._one_group_patch(change, group_remediates)
            if ops is None:  # as the per-row path would: each group's members as dicts, once
                if listed is None:
                    listed = _listed(added, removed)
                adds_of, removes_of = listed
                ops = self._group_patch(
                    change["g"],
                    self._version(change["version"]),
                    adds_of.get(change["g"], []),
                    removes_of.get(change["g"], []),
                    group_remediates,
                )
            planned += ops
        return planned

    def _one_group_patch(
        self, group: dict[str, Any], remediates: list[dict[str, Any]]
    ) -> list[PlannedOp] | None:
        """The one PATCH :meth:`_group_patch` makes of a group's changes, its bytes joined from the
        members' JSON; None when they need more than one operation or JSON escapes."""
        n_adds, n_removes = group["n_adds"] or 0, group["n_removes"] or 0
        if not n_adds and not n_removes:
            return []  # its members' creations are not in the plan
        if (n_adds and not group["adds_plain"]) or (n_removes and not group["removes_plain"]):
            return None
        version = self._version(group["version"])
        path = f"/Groups/{group['g']}"
        bulk_id = f"m{self._counter + 1}"  # what _bulk_id gives next, taken below if the changes fit
        head = _operation_head("PATCH", bulk_id, version, path) + _PATCH_DATA_HEAD
        room = self.max_operation_bytes - len(head) - len(_PATCH_DATA_TAIL)
        parts = []
        if n_adds:
            if group["add_bytes"] + n_adds + group["slack"] > room - len(_ADD_MEMBERS_EMPTY):
                return None
            add = _ADD_MEMBERS_HEAD + group["adds"].encode() + b"]}"
            room -= len(add) + 1
            parts.append(add)
        if n_removes:
            if group["remove_cost"] > room:
                return None
            parts.append(group["removes"].encode())
        self._counter += 1
        op = _encoded_operation("PATCH", path, bulk_id, version, head + b",".join(parts) + _PATCH_DATA_TAIL)
        if not group["adds_mention"] and not group["removes_mention"] and BULK_ID_PREFIX not in path:
            # its only bulkId: texts are the created members': what a search of its bytes would find
            op.__dict__["_references"] = tuple(group["refs"] or ())
        self._check_size(op)
        target_id = None if group["g"].startswith(BULK_ID_PREFIX) else group["g"]
        return [PlannedOp(op, "update_group_members", "group_members", target_id, None, remediates)]

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
        ext, creates = self._ext(), self._creates
        for source_id, bulk_id in user_ids.items():
            raw, key = creates[source_id]
            data = user_create(source_id, raw, match_rules=self.match_rules, **ext)
            # the body is not kept: 80,000 of them held 0.1 GB until the plan was written
            op = _serialised("POST", "/Users", bulk_id, None, data, keep=False)
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
        if self._membership_findings is not None or self._existing_group_members is not None:
            ops += self._frame_group_patches(rename)  # no per-row group change made (_columns_allowed)
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
        simple = self._simple_patches(revoke)
        kind = "deactivate_user" if revoke else "update_user"
        phase = "revoke" if revoke else "update_user"
        for target_id in sorted([*self._users, *simple]) if simple else sorted(self._users):
            if simple and target_id in simple:
                version, key = simple[target_id]
                ops.append(self._activity_patch(target_id, version, key, revoke, kind, phase))
                continue
            change = self._users[target_id]
            if change.revoke != revoke or not change.operations:
                continue
            op = _serialised(
                "PATCH",
                f"/Users/{target_id}",
                self._bulk_id("p"),
                change.version,
                patch_body(change.operations),
            )
            self._check_size(op)
            ops.append(PlannedOp(op, kind, phase, target_id, None, change.remediates))
        return ops

    def _simple_patches(self, revoke: bool) -> dict[str, tuple[str | None, dict[str, Any]]]:
        """target id -> (If-Match, finding) of the accounts kept by _simple_users_in that this
        phase (de)activates."""
        if self._simple_users is None:
            return {}
        activation = pl.col("kind") == "delayed_activation"
        rows = self._simple_users.filter(~activation if revoke else activation)
        found = {}
        target_at = FINDING_KEYS.index("target_id")
        for row in rows.select(*FINDING_KEYS, "target_version").iter_rows():
            found[row[target_at]] = (self._version(row[-1]), _finding_key_of(row))
        return found

    def _activity_patch(
        self, target_id: str, version: str | None, key: dict[str, Any], revoke: bool, kind: str, phase: str
    ) -> PlannedOp:
        """The PATCH setting ``active`` of an account with no other change: _user_patches' bytes,
        its data read back from them when asked."""
        bulk_id = self._bulk_id("p")
        path = f"/Users/{target_id}"
        encoded = _operation_head("PATCH", bulk_id, version, path) + _ACTIVE_DATA[not revoke]
        op = _encoded_operation("PATCH", path, bulk_id, version, encoded)
        if BULK_ID_PREFIX not in path:
            op.__dict__["_references"] = ()  # what BulkOperation._references finds
        self._check_size(op)
        return PlannedOp(op, kind, phase, target_id, None, [key])

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


def _listed(
    added: pl.DataFrame, removed: pl.DataFrame | None
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Each group's added members (value/type dicts) and removed member ids, in order."""
    adds: dict[str, list[Any]] = {}
    for group, value, member_type in added.select("g", "value", "type").iter_rows():
        adds.setdefault(group, []).append({"value": value, "type": member_type})
    removes: dict[str, list[Any]] = {}
    if removed is not None:
        for group, value in removed.sort("seq").select("g", "value").iter_rows():
            removes.setdefault(group, []).append(value)
    return adds, removes


class _EncodedOperation(BulkOperation):
    """A :class:`BulkOperation` made from its bytes as sent (``encoded``, set when made): a plan
    only measures and writes them, so ``data`` is read back from them only when asked."""

    @property
    def data(self) -> dict[str, Any] | None:
        stored = self.__dict__
        if "_data" not in stored:
            stored["_data"] = orjson.loads(stored["encoded"]).get("data")
        return stored["_data"]  # type: ignore[no-any-return]

    @data.setter
    def data(self, value: dict[str, Any] | None) -> None:  # dataclasses.replace() makes one anew
        self.__dict__["_data"] = value


def _serialised(
    method: str, path: str, bulk_id: str, version: str | None, data: dict[str, Any], *, keep: bool = True
) -> BulkOperation:
    """``BulkOperation(method, path, bulk_id, version, data)`` with its :attr:`~BulkOperation.encoded`
    bytes written at once, piece by piece: the bytes of ``orjson.dumps(op.to_json())`` without
    the dict or the exact-size copy (80,000 POST /Users: 0.14 against 0.20 CPU s). ``keep=False``:
    ``data`` is not held, but read back from the bytes when asked."""
    data_bytes = orjson.dumps(data)
    encoded = b"".join((_operation_head(method, bulk_id, version, path), b',"data":', data_bytes, b"}"))
    if not keep:
        operation = _encoded_operation(method, path, bulk_id, version, encoded)
    else:
        operation = built(
            BulkOperation,
            {"method": method, "path": path, "bulk_id": bulk_id, "version": version, "data": data},
        )
        operation.__dict__["encoded"] = encoded
    if b"bulkId:" not in data_bytes and BULK_ID_PREFIX not in path:
        operation.__dict__["_references"] = ()  # what BulkOperation._references finds
    return operation


def _operation_head(method: str, bulk_id: str, version: str | None, path: str) -> bytes:
    """An operation's bytes up to its ``data``: ``orjson.dumps(op.to_json())``'s opening members in
    their order (method, bulkId, version when there is one, path)."""
    head = b'{"method":' + orjson.dumps(method) + b',"bulkId":' + orjson.dumps(bulk_id)
    if version is not None:
        head += b',"version":' + orjson.dumps(version)
    return head + b',"path":' + orjson.dumps(path)


def _encoded_operation(
    method: str, path: str, bulk_id: str, version: str | None, encoded: bytes
) -> BulkOperation:
    operation = object.__new__(_EncodedOperation)
    operation.__dict__.update(method=method, path=path, bulk_id=bulk_id, version=version, encoded=encoded)
    return operation


_PATCH_DATA_HEAD = b',"data":{"schemas":[' + orjson.dumps(PATCH_OP) + b'],"Operations":['
_PATCH_DATA_TAIL = b"]}}"
_ADD_MEMBERS_HEAD = b'{"op":"add","path":"members","value":['
_ADD_MEMBERS_EMPTY = '{"op":"add","path":"members","value":[]},'
_ACTIVE_DATA = {  # what follows the path in a PATCH setting active, to the operation's end
    value: b',"data":'
    + orjson.dumps(patch_body([{"op": "replace", "path": "active", "value": value}]))
    + b"}"
    for value in (True, False)
}
