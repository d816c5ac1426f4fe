"""``simulate()``: run the IdP and its targets over K cycles and write exports plus truth.

Per cycle: evolve the IdP (or build it at cycle 0), replay the changes into every target with
the profile's faults, write the IdP's full export, its delta export (from cycle 1, as the IdP
answers ``meta.lastModified gt "<previous export's time>"``) and each target's full export,
and beside them the exact truth computed from what was written. Everything is a function of
the arguments: the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon import __version__
from recon.capabilities import Capabilities, save_capabilities
from recon.collector import gc_paused
from recon.errors import UsageError
from recon.extract.files import since_filter
from recon.scim.discovery import flatten_attributes
from recon.simulate.directory import Directory
from recon.simulate.ids import START, cycle_id, iso, snapshot_iso, snapshot_time
from recon.simulate.memo import MEMO_LIMIT, Memo, RenderMemo
from recon.simulate.model import Ledger
from recon.simulate.output import (
    DELTA_FINDINGS,
    FINDINGS,
    LEAVERS,
    PAGE_SIZE,
    ParquetExports,
    json_pages_export,
    write_rows,
)
from recon.simulate.profiles import Profile, get_profile
from recon.simulate.render import (
    CUSTOM_SCHEMA,
    Rendered,
    idp_resources,
    idp_states,
    target_resources,
    target_states,
)
from recon.simulate.schema import SchemaFaults
from recon.simulate.sync import CAPABILITIES, TARGET_STYLES, Target
from recon.simulate.truth import delta_findings, findings, leavers
from recon.simulate.unchanged import Unchanged
from recon.simulate.views import ContentIndex, DirectoryView, Indexed, UserRow, ViewBuilder
from recon.store import ExportKind, Manifest, Store, atomic_write_bytes, atomic_write_json
from recon.validate.rules import SCHEMA_FINDINGS

__all__ = ["FORMATS", "SOURCE", "SimulationSummary", "default_groups", "simulate"]

SOURCE = "idp"
FORMATS = ("parquet", "scim-json")


@dataclass(frozen=True)
class SimulationSummary:
    """What one simulation wrote (``to_json()`` is what ``recon simulate --json`` prints)."""

    out: Path
    seed: int
    profile: str
    format: str
    source: str
    targets: tuple[str, ...]
    cycles: tuple[str, ...]
    initial_users: int  # at the IdP, first cycle
    users: int  # at the IdP, last cycle
    groups: int
    findings: Mapping[str, Mapping[str, int]]  # target -> kind -> truth rows at the last cycle
    findings_total: int  # truth rows over every target and cycle
    delta_findings: Mapping[str, int]  # kind -> truth rows over every head cycle
    leavers: int
    faults: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    traps: Mapping[str, int] = field(default_factory=dict)
    delta_quirks: Mapping[str, int] = field(default_factory=dict)
    schema_faults: Mapping[str, int] | None = None  # fault -> IdP users at the last cycle (None: off)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        document: dict[str, Any] = {
            "out": str(self.out),
            "seed": self.seed,
            "profile": self.profile,
            "format": self.format,
            "source": self.source,
            "targets": list(self.targets),
            "cycles": list(self.cycles),
            "initial_users": self.initial_users,
            "users": self.users,
            "groups": self.groups,
            "findings": {t: dict(k) for t, k in self.findings.items()},
            "findings_total": self.findings_total,
            "delta_findings": dict(self.delta_findings),
            "leavers": self.leavers,
            "faults": {t: dict(k) for t, k in self.faults.items()},
            "traps": dict(self.traps),
            "delta_quirks": dict(self.delta_quirks),
            "seconds": round(self.seconds, 3),
        }
        if self.schema_faults is not None:
            document["schema_faults"] = dict(self.schema_faults)
        return document


def default_groups(users: int) -> int:
    """Groups when ``--groups`` is not given: one per 50 users, between 16 and 20,000."""
    return max(16, min(users // 50, 20_000))


def _check(
    users: int, groups: int, cycles: int, seed: int, targets: Sequence[str], fmt: str, schema_faults: float
) -> None:
    if users < 10:
        raise UsageError(f"--users {users}: simulate at least 10 users")
    if groups < 4:
        raise UsageError(f"--groups {groups}: simulate at least 4 groups (3 privileged ones and all-staff)")
    if not 1 <= cycles <= 1000:
        raise UsageError(f"--cycles {cycles}: use 1 to 1000 cycles")
    if seed < 0:
        raise UsageError(f"--seed {seed}: use a number >= 0")
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use {' or '.join(FORMATS)}")
    if not 0 <= schema_faults <= 1:  # also refuses NaN
        raise UsageError(f"--schema-faults {schema_faults}: use a share of the IdP's users between 0 and 1")
    if not targets or len(set(targets)) != len(targets):
        raise UsageError("--targets: name one or more distinct targets")
    for name in targets:
        if name not in TARGET_STYLES:
            raise UsageError(f"unknown target {name!r} (simulated targets: {', '.join(TARGET_STYLES)})")


def _prepare(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UsageError(f"--out {out}: not empty (use --force to replace a previous simulation there)")
        store = Store(out)
        if not (store.truth_root / "simulation.json").is_file():
            raise UsageError(f"--out {out}: holds something other than a simulation; refusing to replace it")
        derived = (store.exports_root, store.truth_root, store.scim_root, store.findings_root)
        for folder in (
            *derived,
            store.deltas_root,
            store.capabilities_root,
            store.staging_root,
            store.temp_dir,
        ):
            shutil.rmtree(folder, ignore_errors=True)
        (out / "recon.toml").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


# Users unchanged since their system's previous full export are taken from its Parquet file
# rather than rendered again (large Parquet simulations without schema faults, where the memos
# are off); the tests turn it off to compare the bytes with rendering every user.
TAKE_UNCHANGED = True

# DuckDB's buffer for an export that has something to dedupe and sort, when RECON_MEMORY_LIMIT is
# not set. The simulator gives its resources in id order, so its exports sort nothing and DuckDB
# is not even opened; when they were sorted, a 1M-user IdP export needed 1GB (512MB ran out).
DUCKDB_BUFFER = "1GB"


class _Writer:
    """Writes one export at a time in the chosen format, feeding the truth collectors."""

    def __init__(self, out: Path, fmt: str, seed: int, profile: str, memoise: bool) -> None:
        self.store = Store(out)
        self.memoise = memoise
        self.fmt = fmt
        self.origin = {"method": "simulate", "seed": seed, "profile": profile}
        self.parquet = (
            ParquetExports(self.store, DUCKDB_BUFFER, background=memoise) if fmt == "parquet" else None
        )
        self.imports: list[dict[str, Any]] = []

    def export(
        self,
        system: str,
        cycle_time: int,
        kind: ExportKind,
        rendered: Rendered,
        *,
        collectors: Sequence[ViewBuilder | ContentIndex],
        since: str | None = None,
        unchanged: Unchanged | None = None,
    ) -> None:
        """Write one export; with ``unchanged``, the users given unchanged are taken from its
        previous full export, and this one's users file becomes the previous one."""
        cycle = cycle_id(cycle_time)
        manifest = Manifest(system=system, cycle=cycle, kind=kind)
        if since is not None:
            manifest.filter, manifest.watermark = since_filter(since)
        manifest.started = manifest.finished = snapshot_iso(cycle_time)
        manifest.pages = max(1, math.ceil(rendered.users / PAGE_SIZE)) + max(
            1, math.ceil(rendered.groups / PAGE_SIZE)
        )
        manifest.total_results = {"Users": rendered.users, "Groups": rendered.groups}
        manifest.origin = dict(self.origin)
        if self.parquet is not None:
            previous = None if unchanged is None else unchanged.previous
            with self.parquet.export(manifest, self.memoise, previous) as add:
                for doc in rendered.resources:
                    add(doc)
                    for collector in collectors:
                        collector.add(doc)
            if unchanged is not None and kind == "full":
                unchanged.written(self.store.export(system, cycle, kind).table("users"))
            return
        folder = self.store.scim_dir(system, cycle, kind)
        with json_pages_export(self.store, folder, rendered.users, rendered.groups) as (add, names):
            for doc in rendered.resources:
                add(doc)
                for collector in collectors:
                    collector.add(doc)
        root = self.store.root
        files = [str((folder / name).relative_to(root)) for name in names]
        self.imports.append({"system": system, "cycle": cycle, "kind": kind, "since": since, "files": files})

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        for leftover in (self.store.temp_dir, self.store.staging_root):
            if leftover.is_dir() and not any(leftover.iterdir()):
                leftover.rmdir()
        if self.imports:
            atomic_write_json(self.store.scim_root / "imports.json", self.imports)


def simulate(
    out: Path | str,
    *,
    users: int = 1000,
    groups: int | None = None,
    cycles: int = 4,
    seed: int = 1,
    profile: str = "typical",
    targets: Sequence[str] = ("slack", "github"),
    fmt: str = "parquet",
    rates: Mapping[str, float] | None = None,
    schema_faults: float = 0.0,
    force: bool = False,
) -> SimulationSummary:
    """Simulate an IdP (``idp``) and ``targets`` over ``cycles`` sync cycles into ``out``.

    Writes ``exports/`` (CONTRACT §3; or ``scim/`` ListResponse pages with ``fmt="scim-json"``),
    ``truth/`` (findings per target and cycle, delta findings per head cycle, leavers,
    simulation.json) and ``recon.toml``. ``out`` must be empty, or hold a previous simulation
    and ``force`` be true. Same arguments, same bytes.

    ``schema_faults`` (0 to 1): the share of the IdP's users written with one schema fault
    (:mod:`recon.simulate.schema`); their expected ``recon validate`` findings go to
    ``truth/schema/system=idp/cycle=<c>/schema_findings.parquet``. 0 writes none of it.
    """
    started = time.perf_counter()
    group_count = groups if groups is not None else default_groups(users)
    targets = tuple(targets)
    _check(users, group_count, cycles, seed, targets, fmt, schema_faults)
    chosen = get_profile(profile, rates)
    out = Path(out)
    _prepare(out, force)
    _idp_capabilities(Store(out))
    ledger = Ledger()
    directory = Directory(
        seed=seed, users=users, groups=group_count, quirks=chosen.delta, traps=chosen.traps, ledger=ledger
    )
    apps = [
        Target(name, seed=seed, directory=directory, faults=chosen.sync, traps=chosen.traps, ledger=ledger)
        for name in targets
    ]
    memoise = users <= MEMO_LIMIT
    writer = _Writer(out, fmt, seed, chosen.name, memoise)
    faulty = SchemaFaults(seed, schema_faults) if schema_faults > 0 else None
    run = _Run(out, directory, apps, writer, ledger, memoise, faulty, take_unchanged=TAKE_UNCHANGED)
    with gc_paused():
        try:
            for index in range(cycles):
                run.cycle(index, last=index == cycles - 1)
        finally:
            writer.close()
        run.finish(seed, chosen, fmt)
    return run.summary(seed, chosen.name, fmt, time.perf_counter() - started)


def _idp_capabilities(store: Store) -> None:
    """The IdP's /Schemas as ``recon discover`` would store them: its own extension (the RFC 7643
    schemas it also serves need not be repeated: recon falls back to them)."""
    schemas = [CUSTOM_SCHEMA]
    advertised = {"schemas": schemas, "attributes": flatten_attributes(schemas)}
    save_capabilities(store, Capabilities(system=SOURCE, discovered_at=iso(START), advertised=advertised))


class _Run:
    """The cycle loop and the truth it accumulates."""

    def __init__(
        self,
        out: Path,
        directory: Directory,
        apps: list[Target],
        writer: _Writer,
        ledger: Ledger,
        memoise: bool,
        schema: SchemaFaults | None = None,
        *,
        take_unchanged: bool = False,
    ) -> None:
        self.out, self.directory, self.apps, self.writer, self.ledger = out, directory, apps, writer, ledger
        self.schema = schema
        # Parquet exports are written in id order whatever order the resources come in; given
        # in that order (one sort of the ids here), the writer has nothing to sort. Page files
        # keep the directory's order, and schema faults their twins right after the original.
        self.by_id = writer.fmt == "parquet" and schema is None
        systems = [SOURCE, *(app.name for app in apps)]
        # large directories (where the memos are off): users unchanged since the previous full
        # export are taken from its Parquet file instead of being rendered and parsed again
        self.unchanged = (
            {name: Unchanged() for name in systems} if take_unchanged and self.by_id and not memoise else {}
        )
        self.render_memo = {name: RenderMemo(memoise) for name in systems}
        self.row_memo: dict[str, Memo[UserRow]] = {name: Memo(memoise) for name in systems}
        self.content_memo: Memo[Indexed] = Memo(memoise)
        self.store = writer.store
        self.truth = self.store.truth_root
        self.cycle_ids: list[str] = []
        self.base: ContentIndex | None = None
        self.left: dict[str, tuple[int, str | None]] = {}
        self.deleted: dict[str, int] = {}
        self.access: dict[str, list[dict[str, set[str]]]] = {app.name: [] for app in apps}
        self.orphans: dict[str, list[set[str]]] = {app.name: [] for app in apps}
        self.counts: dict[str, dict[str, dict[str, int]]] = {app.name: {} for app in apps}
        self.delta_counts: dict[str, dict[str, Any]] = {}
        self.privileged = [directory.groups[g].name for g in directory.privileged]
        self.leaver_rows = 0

    def cycle(self, index: int, *, last: bool = False) -> None:
        d = self.directory
        if index == 0:
            d.build()
            for app in self.apps:
                app.initial()
        else:
            self._hold_states()
            events = d.evolve(index)
            for app in self.apps:
                app.sync(index, events)
            self._compare_states()
        self.privileged = [d.groups[g].name for g in d.privileged]
        now = d.time_of(index)
        cycle = cycle_id(now)
        self.cycle_ids.append(cycle)
        source, head = ViewBuilder(self.row_memo[SOURCE]), ContentIndex(self.content_memo)
        unchanged = self._unchanged(SOURCE, len(d.users))
        rendered = idp_resources(
            d,
            cycle,
            self.ledger,
            self.render_memo[SOURCE],
            schema_faults=self.schema,
            by_id=self.by_id,
            unchanged=unchanged,
            indexed=None if self.base is None else self.base.users,
        )
        self.writer.export(SOURCE, now, "full", rendered, collectors=(source, head), unchanged=unchanged)
        if self.schema is not None:
            folder = self.store.truth_schema_dir(SOURCE, cycle)
            write_rows(folder / "schema_findings.parquet", self.schema.take(cycle), SCHEMA_FINDINGS)
        self.row_memo[SOURCE].rotate()
        self.content_memo.rotate()
        if index > 0:
            self._delta(index, head)
        # the next cycle's base; after the last one's delta nothing reads it, and at 1M users its
        # fingerprints (~170 MiB) would be held through the targets' exports and findings
        self.base = None if last else head
        del head
        self._track_leavers(index, source.view)
        for app in self.apps:
            target = ViewBuilder(self.row_memo[app.name])
            unchanged = self._unchanged(app.name, len(app.accounts))
            rendered = target_resources(
                app, cycle, self.ledger, self.render_memo[app.name], by_id=self.by_id, unchanged=unchanged
            )
            self.writer.export(app.name, now, "full", rendered, collectors=(target,), unchanged=unchanged)
            self.row_memo[app.name].rotate()
            rows = findings(source.view, target.view, self.privileged)
            folder = self.store.truth_findings_dir(SOURCE, app.name, cycle)
            write_rows(folder / "findings.parquet", rows, FINDINGS)
            kinds: dict[str, int] = {}
            access: dict[str, set[str]] = {}
            orphans: set[str] = set()
            for row in rows:
                kinds[row.kind] = kinds.get(row.kind, 0) + 1
                if row.kind == "delayed_deactivation" and row.source_id and row.target_id:
                    access.setdefault(row.source_id, set()).add(row.target_id)
                elif row.kind == "orphaned_in_target" and row.severity != "low" and row.target_id:
                    orphans.add(row.target_id)
            self.counts[app.name][cycle] = dict(sorted(kinds.items()))
            self.access[app.name].append(access)
            self.orphans[app.name].append(orphans)

    def _unchanged(self, system: str, records: int) -> Unchanged | None:
        """The system's :class:`Unchanged`, started for a full export (None when not taking)."""
        unchanged = self.unchanged.get(system)
        if unchanged is not None:
            unchanged.start(records)
        return unchanged

    def _hold_states(self) -> None:
        """Before the cycle's changes: the records' states, as the last full exports show them."""
        if self.unchanged:
            self.unchanged[SOURCE].hold(idp_states(self.directory))
            for app in self.apps:
                self.unchanged[app.name].hold(target_states(app))

    def _compare_states(self) -> None:
        """After the cycle's changes: which records kept their state (the held states go)."""
        if self.unchanged:
            self.unchanged[SOURCE].compare(idp_states(self.directory))
            for app in self.apps:
                self.unchanged[app.name].compare(target_states(app))

    def _delta(self, index: int, head: ContentIndex) -> None:
        d = self.directory
        previous, now = d.time_of(index - 1), d.time_of(index)
        cycle = cycle_id(now)
        extra_users, extra_groups = d.outside_filter(index)
        unchanged = self.unchanged.get(SOURCE)  # every user is the one the full export just wrote
        rendered = idp_resources(
            d,
            cycle,
            self.ledger,
            self.render_memo[SOURCE],
            after=previous,
            extra_users=frozenset(extra_users),
            extra_groups=frozenset(extra_groups),
            schema_faults=self.schema,
            by_id=self.by_id,
            unchanged=unchanged,
            indexed=head.users,
        )
        returned = ContentIndex(self.content_memo)
        self.writer.export(
            SOURCE,
            now,
            "delta",
            rendered,
            collectors=(returned,),
            since=snapshot_iso(previous),
            unchanged=unchanged,
        )
        assert self.base is not None
        watermark = snapshot_time(previous)
        user_rows, user_moved, user_caught = delta_findings(
            self.base.users, head.users, returned.users, watermark, "User"
        )
        group_rows, group_moved, group_caught = delta_findings(
            self.base.groups, head.groups, returned.groups, watermark, "Group"
        )
        rows = sorted([*user_rows, *group_rows], key=lambda r: tuple("" if v is None else str(v) for v in r))
        folder = self.store.truth_deltas_dir(SOURCE, cycle)
        write_rows(folder / "delta_findings.parquet", rows, DELTA_FINDINGS)
        kinds: dict[str, int] = {}
        for row in rows:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        moved, caught = user_moved + group_moved, user_caught + group_caught
        summary = {
            "system": SOURCE,
            "base": self.cycle_ids[index - 1],
            "head": cycle,
            "filter": since_filter(snapshot_iso(previous))[0],
            "watermark": since_filter(snapshot_iso(previous))[1],
            "changed_or_created": moved,
            "returned_of_those": caught,
            "completeness": 1.0 if moved == 0 else caught / moved,
            "by_kind": dict(sorted(kinds.items())),
        }
        atomic_write_json(folder / "summary.json", summary)
        self.delta_counts[cycle] = summary

    def _track_leavers(self, index: int, view: DirectoryView) -> None:
        present = set()
        for user in view.users:
            if user.id in self.left:
                present.add(user.id)
            elif user.active is False:
                self.left[user.id] = (index, user.user_name)
                present.add(user.id)
        for sid in self.left:
            if sid not in present and sid not in self.deleted:
                self.deleted[sid] = index

    def finish(self, seed: int, profile: Profile, fmt: str) -> None:
        rows = leavers(self.cycle_ids, self.left, self.deleted, self.access, self.orphans)
        self.leaver_rows = len(rows)
        write_rows(self.truth / "leavers.parquet", rows, LEAVERS)
        d = self.directory
        cycles = []
        for index, cycle in enumerate(self.cycle_ids):
            entry = {"id": cycle, "time": iso(d.time_of(index)), "snapshot": snapshot_iso(d.time_of(index))}
            if index:
                entry["watermark"] = since_filter(snapshot_iso(d.time_of(index - 1)))[1]
            cycles.append(entry)
        ledger = self.ledger.to_json()
        document = {
            "tool_version": __version__,
            "seed": seed,
            "format": fmt,
            "profile": profile.to_json(),
            "source": SOURCE,
            "targets": [app.name for app in self.apps],
            "capabilities": {app.name: CAPABILITIES[app.name] for app in self.apps},
            "privileged_groups": self.privileged,
            "cycles": cycles,
            "scale": {
                "initial_users": d.initial_users,
                "initial_groups": d.initial_groups,
                "final_users": sum(1 for u in d.users if u is not None),
                "final_groups": len(d.groups),
            },
            "events": ledger.get("events", {}),
            "faults": {app.name: ledger.get(f"faults.{app.name}", {}) for app in self.apps},
            "traps": ledger.get("traps", {}),
            "delta_quirks": ledger.get("delta_quirks", {}),
            **({} if self.schema is None else {"schema_faults": self.schema.to_json()}),
            "truth": {
                "findings": self.counts,
                "deltas": self.delta_counts,
                "leavers": self.leaver_rows,
            },
        }
        atomic_write_json(self.truth / "simulation.json", document)
        lines = [
            f"# Written by `recon simulate` (seed {seed}, profile {profile.name}): how to reconcile",
            "# the simulated systems. match, group_match and compare are the defaults (CONTRACT section 2).",
        ]
        for app in self.apps:
            names = ", ".join(json.dumps(name) for name in self.privileged)
            lines += ["", f"[reconcile.{SOURCE}.{app.name}]", f"privileged_groups = [{names}]"]
        atomic_write_bytes(self.out / "recon.toml", ("\n".join(lines) + "\n").encode("utf-8"))

    def summary(self, seed: int, profile: str, fmt: str, seconds: float) -> SimulationSummary:
        last = self.cycle_ids[-1]
        delta_totals: dict[str, int] = {}
        for entry in self.delta_counts.values():
            for kind, count in entry["by_kind"].items():
                delta_totals[kind] = delta_totals.get(kind, 0) + count
        return SimulationSummary(
            out=self.out,
            seed=seed,
            profile=profile,
            format=fmt,
            source=SOURCE,
            targets=tuple(app.name for app in self.apps),
            cycles=tuple(self.cycle_ids),
            initial_users=self.directory.initial_users,
            users=sum(1 for u in self.directory.users if u is not None),
            groups=len(self.directory.groups),
            findings={name: counts.get(last, {}) for name, counts in self.counts.items()},
            findings_total=sum(sum(k.values()) for counts in self.counts.values() for k in counts.values()),
            delta_findings=dict(sorted(delta_totals.items())),
            leavers=self.leaver_rows,
            faults={app.name: self.ledger.counts(f"faults.{app.name}") for app in self.apps},
            traps=self.ledger.counts("traps"),
            delta_quirks=self.ledger.counts("delta_quirks"),
            schema_faults=None if self.schema is None else self.schema.by_cycle.get(last, {}),
            seconds=seconds,
        )
