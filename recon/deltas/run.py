"""``recon deltas``: was a delta export exactly what changed between two full snapshots?

Inputs: the full exports of ``system`` at the ``base`` and ``head`` cycles and the delta
export of ``head``, whose manifest records the filter it was taken with (``recon extract
--since``/``--filter`` or ``recon import --kind delta --since``/``--filter``). Writes
``deltas/system=<s>/head=<c>/delta_findings.parquet`` (CONTRACT §5) and ``summary.json``,
published together.

Meaning (the shared delta semantics): content is the whole resource (its ``raw`` JSON)
without ``meta``, compared as RFC 7643 says by :mod:`recon.content` (caseExact from the
system's stored /Schemas, else RFC 7643; unassigned values equal; multi-valued attributes
and ``schemas`` as sets; dateTimes as instants); a group's members compare as a set of
(member, type) through the memberships. SQL hands over only the resources whose raw text or
members differ; each finding's ``detail`` names the attribute paths that changed, and the
summary counts changes per path (``changed_paths``). ``outside_filter`` is decided by
evaluating the manifest's filter on the delta records (:mod:`recon.local_filter`), whatever
filter it is. The watermark is the
manifest's ``watermark``, else the time of a top-level ``meta.lastModified gt|ge "T"``
term of its filter; without one, ``stale_last_modified`` and the lag are not decided.

Watermark lag: missed changes and creations whose head ``meta.lastModified`` advanced past
the base but not past the watermark are *boundary misses*; re-running with the watermark
moved back by ``watermark_lag_seconds`` would have returned all of them. Misses whose
lastModified never advanced past the base (or is absent) cannot be caught by any lag, and
misses after the watermark are the server's own omissions; both are counted apart.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recon import __version__
from recon.capabilities import load_capabilities
from recon.config.toml import EngineConfig
from recon.content import GROUP_MEMBERS, ContentRules, changed_paths, content_rules
from recon.engine import Input, Parquet, Session, Table, open_session
from recon.errors import DataNotFound, UsageError
from recon.findings import DELTA_KINDS
from recon.local_filter import ExportTables, matching
from recon.schemas import CONTENT_SHA256, DELTA_FINDINGS
from recon.scim.filter import DEFAULT_CATALOG, And, Catalog, Compare, Filter, parse, parse_datetime
from recon.sources.links import is_link, redact_link
from recon.store import ExportRef, Manifest, Store, atomic_write_json, check_name

__all__ = ["DELTA_FINDINGS", "KINDS", "DeltaSummary", "Watermark", "deltas", "pick_cycles", "watermark_of"]

KINDS = DELTA_KINDS
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Watermark:
    """The filter a delta was taken with and the watermark it implies (None when it has none)."""

    filter: str | None
    time: datetime | None
    inclusive: bool  # ge: a record stamped exactly at the watermark is returned
    link: str | None = None  # a Graph delta link: the position the delta was taken from

    @property
    def shown(self) -> str | None:
        """The watermark as people see it: ISO time, or the delta link without its token."""
        return redact_link(self.link) if self.link else self.iso

    @property
    def iso(self) -> str | None:
        """The watermark as ISO UTC text with ``Z``."""
        if self.time is None:
            return None
        return self.time.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class DeltaSummary:
    """What ``recon deltas`` found for one system, base and head (also ``summary.json``)."""

    system: str
    base: str
    head: str
    watermark: str | None
    filter: str | None
    completeness: float
    counts: dict[str, int]
    by_type: dict[str, dict[str, int]]
    changed_or_created: int
    returned_of_those: int
    watermark_lag_seconds: int | None
    boundary_misses: int
    not_catchable_misses: int
    after_watermark_misses: int
    findings_path: Path
    notes: tuple[str, ...] = ()
    by_path: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    content_schema: str = ""
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The object written to ``summary.json``."""
        totals = {key: sum(t[key] for t in self.by_type.values()) for key in _COUNT_KEYS}
        return {
            "system": self.system,
            "base": self.base,
            "head": self.head,
            "watermark": self.watermark,
            "filter": self.filter,
            "completeness": self.completeness,
            "counts": self.counts,
            "changed": totals["changed"],
            "created": totals["created"],
            "deleted": totals["deleted"],
            "returned": totals["returned"],
            "changed_or_created": self.changed_or_created,
            "returned_of_those": self.returned_of_those,
            "by_type": self.by_type,
            "watermark_lag_seconds": self.watermark_lag_seconds,
            "boundary_misses": self.boundary_misses,
            "not_catchable_misses": self.not_catchable_misses,
            "after_watermark_misses": self.after_watermark_misses,
            "changed_paths": self.by_path,
            "content_schema": self.content_schema,
            "notes": list(self.notes),
            "tool_version": self.tool_version,
        }


_COUNT_KEYS = ("changed", "created", "deleted", "returned", "returned_of_moved")


def watermark_of(manifest: Manifest) -> Watermark:
    """The filter and watermark recorded in a delta export's manifest.

    ``watermark`` wins when recorded (``gt`` semantics, as ``--since`` sends); otherwise a
    top-level ``meta.lastModified gt|ge "T"`` term of ``filter`` gives it.
    """
    inclusive = False
    time: datetime | None = None
    flt = parse(manifest.filter) if manifest.filter else None
    if flt is not None:
        terms = flt.root.terms if isinstance(flt.root, And) else (flt.root,)
        for term in terms:
            if (
                isinstance(term, Compare)
                and term.path.uri is None
                and term.path.attr.lower() == "meta"
                and (term.path.sub_attr or "").lower() == "lastmodified"
                and term.op in ("gt", "ge")
                and isinstance(term.value, str)
            ):
                time = parse_datetime(term.value)
                inclusive = term.op == "ge"
                break
    if manifest.watermark and is_link(manifest.watermark):  # a position, not a time
        return Watermark(manifest.filter, time, inclusive, link=manifest.watermark)
    if manifest.watermark:
        recorded = parse_datetime(manifest.watermark)
        if recorded is None:
            raise UsageError(f"the delta manifest's watermark {manifest.watermark!r} is not a timestamp")
        if time is None or recorded != time:
            inclusive = False
        time = recorded
    return Watermark(manifest.filter, time, inclusive)


def pick_cycles(store: Store, system: str, base: str | None, head: str | None) -> tuple[str, str]:
    """Default head: the latest cycle with a complete delta export; default base: the cycle
    before it with a complete full export."""
    check_name(system, "system name")
    if head is None:
        deltas = store.cycles(system, "delta")
        if not deltas:
            raise DataNotFound(f"no complete delta export of system {system!r} under {store.exports_root}")
        head = deltas[-1]
    if base is None:
        fulls = [c for c in store.cycles(system, "full") if c < head]
        if not fulls:
            raise DataNotFound(
                f"no complete full export of system {system!r} before cycle {head} to use as base"
            )
        base = fulls[-1]
    if base >= head:
        raise UsageError(f"--base {base} must be an earlier cycle than --head {head}")
    return check_name(base, "cycle id"), check_name(head, "cycle id")


def _tables(ref: ExportRef) -> ExportTables:
    return ExportTables(
        Parquet.of(ref.table("users")), Parquet.of(ref.table("groups")), Parquet.of(ref.table("memberships"))
    )


def _with_prints(kind: str, base: ExportRef, head: ExportRef) -> bool:
    """Whether both full exports' ``users`` or ``groups`` files carry content prints (written since
    CONTRACT §3 has ``content_sha256``)."""
    return all(CONTENT_SHA256 in pq.read_schema(ref.table(kind)).names for ref in (base, head))


def _compare(
    session: Session, kind: str, with_prints: bool, inputs: dict[str, Input], base: Input, head: Input
) -> Table:
    """The compare rows of ``users`` or ``groups`` (the columns of :data:`_COMPARED`).

    With prints on both sides, the resources are listed by joining prints and the raw texts are
    read back only where the prints differ or are null; otherwise the raw texts are joined whole.
    Either way a null print is compared through the raw texts, and the rows are the same.
    """
    if not with_prints:
        return session.run(f"deltas_{kind}_compare", None, inputs, keep=True)
    listed = session.run(f"deltas_{kind}_listed_by_prints", None, inputs, keep=True)
    compared = session.run(
        "deltas_texts_where_prints_differ",
        None,
        {"listed": listed, "base_resources": base, "head_resources": head},
        keep=True,
    )
    session.release(listed)
    return compared


def _matching(
    session: Session, flt: Filter | None, resource_type: str, tables: ExportTables, catalog: Catalog
) -> Input:
    """Ids of the delta records that satisfy the filter sent (all of them when none was sent)."""
    if flt is None:
        return tables.users if resource_type == "User" else tables.groups
    return matching(session, flt, resource_type, tables, catalog)


def _returned(
    session: Session, flt: Filter | None, resource_type: str, delta: ExportTables, catalog: Catalog
) -> Table:
    """The delta export's resources of ``resource_type``, each with whether it satisfies the filter
    sent: the ``returned`` input of the compare statements."""
    resources = delta.users if resource_type == "User" else delta.groups
    return session.run(
        "deltas_returned",
        None,
        {
            "delta_resources": resources,
            "delta_resources_matching": _matching(session, flt, resource_type, delta, catalog),
        },
        keep=True,
    )


def _compare_groups(
    worker: Session,
    with_prints: bool,
    flt: Filter | None,
    b: ExportTables,
    h: ExportTables,
    d: ExportTables,
    catalog: Catalog,
    rules: ContentRules,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The groups' compare rows (raw texts left out) and their content changes and paths, found
    by ``worker`` (closed afterwards).

    A worker's tables are its own, so the results come back as Arrow tables; they are small
    (changed, created, deleted and returned groups), and the raw texts, which list every member,
    stay in the worker.
    """
    try:
        member_changes = worker.run(
            "deltas_group_member_changes",
            None,
            {"base_memberships": b.memberships, "head_memberships": h.memberships},
            keep=True,
        )
        compared = _compare(
            worker,
            "groups",
            with_prints,
            {
                "base_groups": b.groups,
                "head_groups": h.groups,
                "member_changes": member_changes,
                "returned": _returned(worker, flt, "Group", d, catalog),
            },
            b.groups,
            h.groups,
        )
        changes, paths = content_changes(
            worker, worker.run("deltas_candidates", None, {"compared": compared}), rules
        )
        return _without_raw(worker, compared), changes, paths
    finally:
        worker.close()


def _without_raw(session: Session, compared: Table) -> pa.Table:
    """The compare rows with NULL raw texts (deltas_classify does not read them)."""
    batches = [
        pa.RecordBatch.from_arrays(
            [pa.nulls(batch.num_rows, pa.string()) if name in _RAW else batch.column(name) for name in names],
            names=names,
        )
        for batch in session.batches(compared, _BATCH)
        for names in [batch.schema.names]
    ]
    if not batches:
        return _COMPARED.empty_table()
    return pa.Table.from_batches(batches).select(_COMPARED.names).cast(_COMPARED)


def deltas(
    store: Store,
    system: str,
    base: str | None = None,
    head: str | None = None,
    *,
    catalog: Catalog | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    engine: EngineConfig | None = None,
) -> DeltaSummary:
    """Check the delta export of ``head`` against the full exports of ``base`` and ``head``.

    Publishes ``delta_findings.parquet`` + ``summary.json`` under ``store.deltas_dir(system,
    head)`` and returns the summary. Raises :class:`DataNotFound` when an export is missing
    or not complete, :class:`recon.errors.FilterSyntaxError` when the manifest's filter
    does not parse.
    """
    base, head = pick_cycles(store, system, base, head)
    base_ref = store.complete_export(system, base, "full")
    head_ref = store.complete_export(system, head, "full")
    delta_ref = store.complete_export(system, head, "delta")
    watermark = watermark_of(delta_ref.manifest())
    flt = parse(watermark.filter) if watermark.filter else None
    capabilities = load_capabilities(store, system)
    if catalog is None:
        advertised = (capabilities.advertised.get("attributes") if capabilities else None) or None
        catalog = DEFAULT_CATALOG.with_advertised(advertised)
    rules = content_rules(capabilities)
    notes: list[str] = []
    if flt is None:
        notes.append("the delta manifest records no filter: outside_filter is not decided")
    if watermark.time is None:
        notes.append(
            "no watermark in the delta manifest or its filter: stale_last_modified and lag not decided"
        )

    opened = open_session(temp_dir=store.temp_dir, memory_limit=memory_limit, threads=threads, engine=engine)
    with opened as session:
        b, h, d = _tables(base_ref), _tables(head_ref), _tables(delta_ref)
        users = _compare(
            session,
            "users",
            _with_prints("users", base_ref, head_ref),
            {
                "base_users": b.users,
                "head_users": h.users,
                "returned": _returned(session, flt, "User", d, catalog),
            },
            b.users,
            h.users,
        )
        # the groups' SQL and content comparison run on a worker session while this thread
        # compares the users' contents (DuckDB releases the GIL while it runs a statement)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                _compare_groups,
                session.worker(),
                _with_prints("groups", base_ref, head_ref),
                flt,
                b,
                h,
                d,
                catalog,
                rules,
            )
            user_changes = content_changes(
                session, session.run("deltas_candidates", None, {"compared": users}), rules
            )
            group_rows, group_changes, group_paths = pending.result()
        groups = session.bind(group_rows)
        compared = session.union_all(users, groups)
        changes = pa.concat_tables([user_changes[0], group_changes])
        paths = pa.concat_tables([user_changes[1], group_paths])
        classified = session.run(
            "deltas_classify", None, {"compared": compared, "content_changes": changes}, keep=True
        )
        inputs = {"classified": classified}
        final_dir = store.deltas_dir(system, head)
        with store.publishing(final_dir) as staging:
            findings = session.run(
                "deltas_findings", {"watermark": watermark.time, "inclusive": watermark.inclusive}, inputs
            )
            session.write_parquet(findings, staging / "delta_findings.parquet", DELTA_FINDINGS)
            counts = _kind_counts(session, staging / "delta_findings.parquet")
            by_type = {
                row.pop("resource_type"): {k: int(v) for k, v in row.items()}
                for row in session.rows(session.run("deltas_counts", None, inputs))
            }
            by_type = {t: by_type.get(t, dict.fromkeys(_COUNT_KEYS, 0)) for t in ("User", "Group")}
            lag = session.rows(
                session.run(
                    "deltas_watermark_lag",
                    {"watermark": watermark.time, "inclusive": watermark.inclusive},
                    inputs,
                )
            )[0]
            moved = sum(t["changed"] + t["created"] for t in by_type.values())
            caught = sum(t["returned_of_moved"] for t in by_type.values())
            summary = DeltaSummary(
                system=system,
                base=base,
                head=head,
                watermark=watermark.shown,
                filter=watermark.filter,
                completeness=1.0 if moved == 0 else caught / moved,
                counts=counts,
                by_type=by_type,
                changed_or_created=moved,
                returned_of_those=caught,
                watermark_lag_seconds=_lag_seconds(lag, watermark),
                boundary_misses=int(lag["boundary"]) if watermark.time else 0,
                not_catchable_misses=int(lag["not_catchable"]) if watermark.time else 0,
                after_watermark_misses=int(lag["after_watermark"]) if watermark.time else 0,
                findings_path=final_dir / "delta_findings.parquet",
                notes=tuple(notes),
                by_path=_path_counts(session, classified, paths, watermark),
                content_schema=rules.described,
            )
            atomic_write_json(staging / "summary.json", summary.to_json())
    return summary


_COMPARED = pa.schema(
    [
        ("resource_type", pa.string()),
        ("id", pa.string()),
        ("name", pa.string()),
        ("base_last_modified", _TS),
        ("head_last_modified", _TS),
        ("in_base", pa.bool_()),
        ("in_head", pa.bool_()),
        ("candidate", pa.bool_()),
        ("members_changed", pa.bool_()),
        ("base_raw", pa.string()),
        ("head_raw", pa.string()),
        ("returned", pa.bool_()),
        ("in_filter", pa.bool_()),
    ]
)
"""The columns of the compare rows (deltas_*_compare, deltas_texts_where_prints_differ); the
groups' come back as Arrow."""
_RAW = frozenset({"base_raw", "head_raw"})
_CHANGES = pa.schema([("resource_type", pa.string()), ("id", pa.string()), ("changed_paths", pa.string())])
_PATHS = pa.schema([("resource_type", pa.string()), ("id", pa.string()), ("path", pa.string())])
_BATCH = 4096


def content_changes(session: Session, candidates: Table, rules: ContentRules) -> tuple[pa.Table, pa.Table]:
    """Which candidates' content changed, and the attribute paths that did.

    ``candidates`` (a table of ``session``) has columns resource_type, id, members_changed,
    base_raw, head_raw (the raw texts where they differ). Returns ``(changes, paths)``: one row
    (resource_type, id, changed_paths) per changed resource, the paths joined with ", ", and one
    row (resource_type, id, path) per changed path. Streams the candidates in batches.
    """
    changes: dict[str, list[str]] = {"resource_type": [], "id": [], "changed_paths": []}
    paths: dict[str, list[str]] = {"resource_type": [], "id": [], "path": []}
    for batch in session.batches(candidates, _BATCH):
        columns = batch.to_pydict()
        for resource_type, rid, members, base_raw, head_raw in zip(
            columns["resource_type"],
            columns["id"],
            columns["members_changed"],
            columns["base_raw"],
            columns["head_raw"],
            strict=True,
        ):
            found = changed_paths(base_raw, head_raw, resource_type, rules) if base_raw != head_raw else []
            if members:
                found = sorted([*found, GROUP_MEMBERS])
            if not found:
                continue
            changes["resource_type"].append(resource_type)
            changes["id"].append(rid)
            changes["changed_paths"].append(", ".join(found))
            for path in found:
                paths["resource_type"].append(resource_type)
                paths["id"].append(rid)
                paths["path"].append(path)
    return pa.Table.from_pydict(changes, schema=_CHANGES), pa.Table.from_pydict(paths, schema=_PATHS)


def _path_counts(
    session: Session, classified: Table, paths: pa.Table, watermark: Watermark
) -> dict[str, dict[str, dict[str, int]]]:
    """Resource type -> changed attribute path -> changed / returned / missed / stale counts."""
    counted: dict[str, dict[str, dict[str, int]]] = {"User": {}, "Group": {}}
    rows = session.rows(
        session.run(
            "deltas_path_counts",
            {"watermark": watermark.time, "inclusive": watermark.inclusive},
            {"classified": classified, "content_paths": paths},
        )
    )
    for row in rows:
        resource_type, path = row.pop("resource_type"), row.pop("path")
        counted.setdefault(resource_type, {})[path] = {k: int(v) for k, v in row.items()}
    return counted


def _kind_counts(session: Session, path: Path) -> dict[str, int]:
    rows = session.tuples(session.run("deltas_kind_counts", None, {"delta_findings": Parquet.of(path)}))
    found = {str(kind): int(count) for kind, count in rows}
    return {kind: found.get(kind, 0) for kind in KINDS}


def _lag_seconds(lag: dict[str, Any], watermark: Watermark) -> int | None:
    """Smallest whole number of seconds to move the watermark back to catch every boundary miss."""
    if watermark.time is None:
        return None
    gap = lag["max_gap_seconds"]
    if not lag["boundary"] or gap is None:
        return 0
    gap = float(gap)
    # gt needs watermark - L < lastModified, i.e. L > gap; ge needs L >= gap
    return math.ceil(gap) if watermark.inclusive else math.floor(gap) + 1
