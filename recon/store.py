"""The data layout of CONTRACT §3: the only module that knows folder names.

::

    <data>/exports/system=<name>/cycle=<id>/kind=<full|delta>/
        {users,groups,memberships}.parquet, manifest.json
    <data>/findings/source=<a>/target=<b>/cycle=<id>/findings.parquet, summary.json
    <data>/deltas/system=<name>/head=<id>/delta_findings.parquet, summary.json
    <data>/capabilities/system=<name>/capabilities.json, probe.parquet
    <data>/audits/cycle=<id>/audit.json, <data>/recon.prom, <data>/.audit.lock   (recon audit)

Files appear only when complete: single files are written to a temporary name and
renamed; an export partition is written into a staging folder under ``<data>/.staging``
and renamed into place as a whole, manifest last.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from recon import __version__
from recon.errors import DataNotFound, InputError, UsageError

__all__ = [
    "EXPORT_TABLES",
    "ExportRef",
    "Manifest",
    "Store",
    "atomic_write_bytes",
    "atomic_write_json",
    "check_name",
    "cycle_id_now",
    "default_data_dir",
    "partition_values",
    "read_json_object",
]

EXPORT_TABLES = ("users", "groups", "memberships")
ExportKind = Literal["full", "delta"]
ExportStatus = Literal["complete", "partial", "failed"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_name(value: str, what: str) -> str:
    """Return ``value`` if it is safe as a path segment, else raise :class:`UsageError`.

    System names and cycle ids become folder names, so only ``[A-Za-z0-9_.-]{1,64}``
    is accepted, and names made only of dots (``.``, ``..``) are refused.
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value) or set(value) == {"."}:
        raise UsageError(f"invalid {what} {value!r}: use 1-64 characters from A-Z a-z 0-9 _ . -")
    return value


def cycle_id_now(now: datetime | None = None) -> str:
    """The default cycle id: UTC time as ``YYYYMMDDTHHMMSSZ`` (sorts in time order)."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def default_data_dir() -> Path:
    """``$RECON_DATA_DIR`` if set, else ``./data``."""
    return Path(os.environ.get("RECON_DATA_DIR") or "data")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object recon stored at ``path`` (a summary, manifest, capabilities), or None when absent.

    A file that is not valid JSON, or holds anything but an object, is damaged: :class:`InputError`
    naming the file (and the line), never a half-read record.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


@dataclass
class Manifest:
    """What an export is and how complete it is (CONTRACT §3). Never holds a secret."""

    system: str
    cycle: str
    kind: ExportKind
    status: ExportStatus = "complete"
    filter: str | None = None
    watermark: str | None = None
    filtered_locally: bool = False
    started: str | None = None
    finished: str | None = None
    pages: int = 0
    total_results: dict[str, int | None] = field(default_factory=dict)
    items_received: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    rejected: int = 0
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, Any] = field(default_factory=dict)
    tool_version: str = __version__

    def add_anomaly(self, kind: str, detail: str, count: int = 1, **extra: Any) -> None:
        """Record something odd about the export (it stays a row of data, not an error)."""
        self.anomalies.append({"kind": kind, "detail": detail, "count": count, **extra})

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "system": self.system,
            "cycle": self.cycle,
            "kind": self.kind,
            "status": self.status,
            "filter": self.filter,
            "watermark": self.watermark,
            "filtered_locally": self.filtered_locally,
            "started": self.started,
            "finished": self.finished,
            "pages": self.pages,
            "total_results": self.total_results,
            "items_received": self.items_received,
            "rows": self.rows,
            "duplicates_dropped": self.duplicates_dropped,
            "rejected": self.rejected,
            "anomalies": self.anomalies,
            "origin": self.origin,
            "tool_version": self.tool_version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Read a manifest back; unknown keys (from newer versions) are ignored."""
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class ExportRef:
    """One export partition on disk."""

    system: str
    cycle: str
    kind: ExportKind
    path: Path

    def table(self, name: str) -> Path:
        """Path of ``users``, ``groups`` or ``memberships`` in this export."""
        if name not in EXPORT_TABLES:
            raise ValueError(f"unknown export table {name!r}")
        return self.path / f"{name}.parquet"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def manifest(self) -> Manifest:
        """The export's manifest (raises :class:`DataNotFound` when it is missing)."""
        data = read_json_object(self.manifest_path)
        if data is None:
            raise DataNotFound(f"no manifest.json in {self.path}")
        return Manifest.from_json(data)


class Store:
    """The recon data folder (CONTRACT §3) rooted at ``root``."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_data_dir()

    # -- paths ---------------------------------------------------------------------------
    @property
    def exports_root(self) -> Path:
        return self.root / "exports"

    @property
    def findings_root(self) -> Path:
        return self.root / "findings"

    @property
    def deltas_root(self) -> Path:
        return self.root / "deltas"

    @property
    def capabilities_root(self) -> Path:
        return self.root / "capabilities"

    @property
    def temp_dir(self) -> Path:
        """Where DuckDB may spill (inside the data folder, so on the same disk)."""
        return self.root / ".tmp"

    def export(self, system: str, cycle: str, kind: ExportKind = "full") -> ExportRef:
        """Reference to an export partition (it may not exist yet)."""
        check_name(system, "system name")
        check_name(cycle, "cycle id")
        if kind not in ("full", "delta"):
            raise UsageError(f"invalid export kind {kind!r}: use full or delta")
        path = self.exports_root / f"system={system}" / f"cycle={cycle}" / f"kind={kind}"
        return ExportRef(system, cycle, kind, path)

    def findings_dir(self, source: str, target: str, cycle: str) -> Path:
        """Folder of ``findings.parquet`` + ``summary.json`` for a source/target pair and cycle."""
        check_name(cycle, "cycle id")
        return self.findings_pair_dir(source, target) / f"cycle={cycle}"

    def findings_pair_dir(self, source: str, target: str) -> Path:
        """Folder of every findings cycle of a source/target pair."""
        check_name(source, "system name")
        check_name(target, "system name")
        return self.findings_root / f"source={source}" / f"target={target}"

    def deltas_dir(self, system: str, head: str) -> Path:
        """Folder of ``delta_findings.parquet`` + ``summary.json`` for a system and head cycle."""
        check_name(system, "system name")
        check_name(head, "cycle id")
        return self.deltas_root / f"system={system}" / f"head={head}"

    def capabilities_dir(self, system: str) -> Path:
        """Folder of ``capabilities.json`` + ``probe.parquet`` for a system."""
        check_name(system, "system name")
        return self.capabilities_root / f"system={system}"

    def audit_dir(self, cycle: str) -> Path:
        """Folder of ``audit.json`` (what each stage of ``recon audit`` did) for one audit cycle."""
        check_name(cycle, "cycle id")
        return self.root / "audits" / f"cycle={cycle}"

    @property
    def audit_lock_path(self) -> Path:
        """The lock that keeps two ``recon audit`` runs off the same data folder."""
        return self.root / ".audit.lock"

    @property
    def metrics_path(self) -> Path:
        """Default metrics textfile (``[metrics] textfile`` overrides it)."""
        return self.root / "recon.prom"

    @property
    def report_path(self) -> Path:
        """Default HTML report."""
        return self.root / "report.html"

    # -- paths of validate, bulk, the simulator and extract's resume journals -----------------
    @property
    def validation_root(self) -> Path:
        """Validation results, beside (never inside) the exports they describe."""
        return self.root / "validation"

    def validation_dir(self, system: str, cycle: str) -> Path:
        """Folder of the schema findings of one system's export at one cycle."""
        check_name(system, "system name")
        check_name(cycle, "cycle id")
        return self.validation_root / f"system={system}" / f"cycle={cycle}"

    def mapping_dir(self, source: str, target: str) -> Path:
        """Folder of the mapping findings of a source/target pair (the latest run)."""
        check_name(source, "system name")
        check_name(target, "system name")
        return self.validation_root / f"source={source}" / f"target={target}"

    @property
    def bulk_root(self) -> Path:
        return self.root / "bulk"

    def bulk_system_dir(self, system: str) -> Path:
        """Folder holding every bulk run against ``system``."""
        return self.bulk_root / f"system={check_name(system, 'system name')}"

    def bulk_run_dir(self, system: str, run_id: str) -> Path:
        """Folder of one bulk run (an apply, or an analyze of files)."""
        return self.bulk_system_dir(system) / f"run={check_name(run_id, 'run id')}"

    @property
    def plans_root(self) -> Path:
        return self.root / "plans"

    def plan_dir(self, source: str, target: str, cycle: str) -> Path:
        """Default folder of the plan remediating ``target`` against ``source`` at ``cycle``."""
        check_name(source, "system name")
        check_name(target, "system name")
        check_name(cycle, "cycle id")
        return self.plans_root / f"source={source}" / f"target={target}" / f"cycle={cycle}"

    @property
    def resume_root(self) -> Path:
        """The resume journals of interrupted ``recon extract`` runs (kept in ``.staging``)."""
        return self.staging_root / "extract-resume"

    def resume_system_dir(self, system: str) -> Path:
        """Folder of the resume journals of ``system``, one folder ``<cycle>.<kind>`` each."""
        return self.resume_root / check_name(system, "system name")

    def resume_dir(self, system: str, cycle: str, kind: str) -> Path:
        """Where the resume journal of ``system``/``cycle``/``kind`` lives."""
        return self.resume_system_dir(system) / f"{check_name(cycle, 'cycle id')}.{kind}"

    @property
    def truth_root(self) -> Path:
        """What the simulator knows it planted (``recon simulate``), read by the demo and tests."""
        return self.root / "truth"

    def truth_findings_dir(self, source: str, target: str, cycle: str) -> Path:
        """The expected ``findings.parquet`` of a pair and cycle (laid out as ``findings/``)."""
        return self.truth_root / self.findings_dir(source, target, cycle).relative_to(self.root)

    def truth_deltas_dir(self, system: str, head: str) -> Path:
        """The expected ``delta_findings.parquet`` of a system and head (laid out as ``deltas/``)."""
        return self.truth_root / self.deltas_dir(system, head).relative_to(self.root)

    def truth_schema_dir(self, system: str, cycle: str) -> Path:
        """The expected ``schema_findings.parquet`` of a system's export at a cycle."""
        check_name(system, "system name")
        check_name(cycle, "cycle id")
        return self.truth_root / "schema" / f"system={system}" / f"cycle={cycle}"

    @property
    def scim_root(self) -> Path:
        """The simulator's exports as SCIM JSON pages (what ``recon import`` reads)."""
        return self.root / "scim"

    def scim_dir(self, system: str, cycle: str, kind: str) -> Path:
        """Folder of one simulated export's SCIM JSON pages."""
        check_name(system, "system name")
        check_name(cycle, "cycle id")
        return self.scim_root / f"system={system}" / f"cycle={cycle}" / f"kind={kind}"

    # -- listing -------------------------------------------------------------------------
    def systems(self) -> list[str]:
        """Systems that have at least one export folder, sorted."""
        return sorted(_partition_values(self.exports_root, "system"))

    def exports(self, system: str | None = None, kind: ExportKind | None = None) -> list[ExportRef]:
        """Every export partition that has a manifest, sorted by system, cycle, kind."""
        found: list[ExportRef] = []
        systems = [system] if system is not None else self.systems()
        for name in systems:
            system_dir = self.exports_root / f"system={check_name(name, 'system name')}"
            for cycle in sorted(_partition_values(system_dir, "cycle")):
                for export_kind in ("full", "delta"):
                    if kind is not None and export_kind != kind:
                        continue
                    ref = self.export(name, cycle, export_kind)
                    if ref.manifest_path.is_file():
                        found.append(ref)
        return found

    def findings_cycles(
        self, source: str | None = None, target: str | None = None
    ) -> list[tuple[str, str, str]]:
        """(source, target, cycle) of every findings partition that has its findings.parquet, sorted."""
        found = []
        sources = [source] if source is not None else partition_values(self.findings_root, "source")
        for src in sources:
            source_dir = self.findings_root / f"source={check_name(src, 'system name')}"
            targets = [target] if target is not None else partition_values(source_dir, "target")
            for tgt in targets:
                for cycle in partition_values(self.findings_pair_dir(src, tgt), "cycle"):
                    if (self.findings_dir(src, tgt, cycle) / "findings.parquet").is_file():
                        found.append((src, tgt, cycle))
        return found

    def cycles(self, system: str, kind: ExportKind = "full", *, complete_only: bool = True) -> list[str]:
        """Cycle ids of ``system`` with an export of ``kind``, oldest first."""
        return [
            ref.cycle
            for ref in self.exports(system, kind)
            if not complete_only or ref.manifest().status == "complete"
        ]

    def latest_complete(
        self, system: str, kind: ExportKind = "full", *, at_or_before: str | None = None
    ) -> ExportRef:
        """The newest complete export of ``system`` (optionally at or before a cycle id)."""
        cycles = [c for c in self.cycles(system, kind) if at_or_before is None or c <= at_or_before]
        if not cycles:
            bound = f" at or before cycle {at_or_before}" if at_or_before else ""
            raise DataNotFound(
                f"no complete {kind} export of system {system!r}{bound} under {self.exports_root}"
            )
        return self.export(system, cycles[-1], kind)

    def complete_export(self, system: str, cycle: str, kind: ExportKind = "full") -> ExportRef:
        """The export of ``system`` at ``cycle``; raises unless it exists and is complete."""
        ref = self.export(system, cycle, kind)
        if not ref.manifest_path.is_file():
            raise DataNotFound(f"no {kind} export of system {system!r} for cycle {cycle} ({ref.path})")
        status = ref.manifest().status
        if status != "complete":
            raise DataNotFound(
                f"the {kind} export of system {system!r} for cycle {cycle} is {status}, not complete"
            )
        return ref

    def pick_pair(
        self, source: str, target: str, cycle: str | None = None, *, allow_partial: bool = False
    ) -> tuple[str, ExportRef, ExportRef]:
        """The cycle and the two full exports to reconcile.

        Default cycle: the latest one with a complete full export of both systems (with
        ``allow_partial``, a partial one is usable too). A failed export is never used.
        """
        check_name(source, "system name")
        check_name(target, "system name")
        if source == target:
            raise UsageError(f"--source and --target are both {source!r}: reconcile two different systems")
        usable = {"complete", "partial"} if allow_partial else {"complete"}
        statuses = {system: self._full_statuses(system) for system in (source, target)}
        if cycle is not None:
            check_name(cycle, "cycle id")
            for system in (source, target):
                status = statuses[system].get(cycle)
                if status is None:
                    raise DataNotFound(
                        f"no full export of system {system!r} for cycle {cycle} under {self.exports_root}"
                    )
                if status not in usable:
                    hint = " (pass --allow-partial to reconcile it anyway)" if status == "partial" else ""
                    raise DataNotFound(
                        f"the full export of system {system!r} for cycle {cycle} is {status}{hint}"
                    )
            chosen = cycle
        else:
            common = sorted(set(statuses[source]) & set(statuses[target]))
            candidates = [
                c for c in common if statuses[source][c] in usable and statuses[target][c] in usable
            ]
            if not candidates:
                partial = any("partial" in (statuses[source][c], statuses[target][c]) for c in common)
                hint = (
                    "; only partial exports in common (pass --allow-partial to use them)" if partial else ""
                )
                raise DataNotFound(
                    f"no cycle has complete full exports of both {source!r} ({len(statuses[source])} cycles) "
                    f"and {target!r} ({len(statuses[target])} cycles) under {self.exports_root}{hint}"
                )
            chosen = candidates[-1]
        return chosen, self.export(source, chosen, "full"), self.export(target, chosen, "full")

    def _full_statuses(self, system: str) -> dict[str, str]:
        statuses: dict[str, str] = {ref.cycle: ref.manifest().status for ref in self.exports(system, "full")}
        if not statuses:
            raise DataNotFound(f"no full export of system {system!r} under {self.exports_root}")
        return statuses

    # -- writing -------------------------------------------------------------------------
    @property
    def staging_root(self) -> Path:
        """Where exports and findings are written before they are published (``<data>/.staging``)."""
        return self.root / ".staging"

    @property
    def held_root(self) -> Path:
        """Where a partial export is kept when a complete one of the same cycle stays published."""
        return self.root / ".held"

    @contextlib.contextmanager
    def publishing(self, final_dir: Path) -> Iterator[Path]:
        """Yield an empty staging folder; on success it replaces ``final_dir`` in one rename.

        On any exception (an interrupt too) the staging folder is removed and ``final_dir`` is
        left as it was: the folder it replaces is moved aside first and moved back if the final
        rename fails. A process killed in between leaves a record in ``.staging`` that the next
        run's :meth:`recover` follows. A caller that moved the staging folder away
        (:meth:`hold`) publishes nothing.
        """
        self.recover()
        root = self.staging_root
        root.mkdir(parents=True, exist_ok=True)
        ident = uuid.uuid4().hex
        lock = _Lock(root / f"{ident}.lock")  # held while this run owns the staging folder
        staging = root / ident
        try:
            staging.mkdir()
            yield staging
            if staging.exists():
                self._replace(final_dir, staging, ident)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
            lock.release()

    def _replace(self, final_dir: Path, staging: Path, ident: str) -> None:
        """``staging`` becomes ``final_dir``; what was there is restored unless that succeeded."""
        root = self.staging_root
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        record = root / f"{ident}.json"
        retired = root / f"{ident}.old"
        moved = False
        try:
            if final_dir.exists():
                # for recover() after a kill; a process's death keeps the page cache, so no fsync
                _write_record(record, {"final": str(final_dir), "retired": str(retired)})
                _rename(final_dir, retired)
                moved = True
            _rename(staging, final_dir)
        except BaseException:
            if moved and not final_dir.exists():
                _rename(retired, final_dir)  # if this fails too, the record stays for recover()
            record.unlink(missing_ok=True)
            raise
        record.unlink(missing_ok=True)
        if moved:
            shutil.rmtree(retired, ignore_errors=True)

    def recover(self) -> list[str]:
        """Finish what interrupted runs left in ``.staging``; returns what was done, one line each.

        A folder moved aside by a publish that did not end is moved back when nothing replaced it
        (else removed), and staging folders no running process holds are removed. The resume
        journals of ``recon extract`` (``extract-resume``) are left alone.
        """
        root = self.staging_root
        if not root.is_dir():
            return []
        done: list[str] = []
        for record in sorted(root.glob("*.json")):
            ident = record.name[: -len(".json")]
            lock = _Lock.try_take(root / f"{ident}.lock")
            if lock is None:
                continue  # its run is still going
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
                final, retired = Path(data["final"]), Path(data["retired"])
            except (OSError, ValueError, KeyError, TypeError):
                final = retired = None  # type: ignore[assignment]
            if retired is not None and retired.exists():
                if final is not None and not final.exists():
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(retired, final)
                    done.append(f"restored {final} that an interrupted publish had moved aside")
                else:
                    shutil.rmtree(retired, ignore_errors=True)
            record.unlink(missing_ok=True)
            lock.release(remove=True)
        for entry in sorted(root.iterdir()):
            if entry.name == "extract-resume" or not entry.is_dir():
                continue
            ident = entry.name.split(".", 1)[0]
            lock = _Lock.try_take(root / f"{ident}.lock")
            if lock is None:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            lock.release(remove=True)
            done.append(f"removed {entry.name} left in {root} by an interrupted run")
        for stale in root.glob("*.lock"):
            lock = _Lock.try_take(stale)
            if lock is not None and not (root / stale.stem).exists():
                lock.release(remove=True)
        return done

    def hold(self, staging: Path, ref: ExportRef) -> Path:
        """Move a staged export to ``.held`` instead of publishing it; returns where it is.

        Used when a run ended partial for a cycle whose export is complete: the complete export
        stays, the partial one is kept for inspection (it never looks like an export: it is
        not under ``exports/``).
        """
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.held_root / f"system={ref.system}" / f"cycle={ref.cycle}" / f"kind={ref.kind}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        return target


def _write_record(path: Path, data: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _rename(source: Path, target: Path) -> None:
    """``os.replace`` (one place, so tests can make a given rename fail)."""
    os.replace(source, target)


class _Lock:
    """An exclusive ``flock`` on a file: released by the kernel when its process dies."""

    def __init__(self, path: Path, *, wait: bool = True) -> None:
        import fcntl

        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BaseException:
            os.close(self._fd)
            raise

    @classmethod
    def try_take(cls, path: Path) -> _Lock | None:
        """The lock if no process holds it (taken now), else None."""
        try:
            return cls(path, wait=False)
        except BlockingIOError:
            return None

    def release(self, *, remove: bool = True) -> None:
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self._fd)


def _partition_values(folder: Path, key: str) -> list[str]:
    prefix = f"{key}="
    if not folder.is_dir():
        return []
    return [
        child.name[len(prefix) :]
        for child in folder.iterdir()
        if child.is_dir() and child.name.startswith(prefix)
    ]


def partition_values(folder: Path, key: str) -> list[str]:
    """The values of the Hive partition folders ``<key>=<value>`` directly under ``folder``, sorted."""
    return sorted(_partition_values(folder, key))
