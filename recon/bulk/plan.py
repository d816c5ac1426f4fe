"""``recon bulk plan``: reconcile findings -> remediation BulkRequests, chunked to the target's limits.

Output folder (default ``<data>/plans/source=<a>/target=<b>/cycle=<c>/``)::

    chunk-0001.json …   one BulkRequest each: the exact bytes apply sends (compact JSON)
    plan.json           limits used, chunks (operations, bytes, sha256), every operation with
                        the findings it remediates, and the findings left alone (with why)

The folder appears complete or not at all (written beside it, then renamed).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from recon import __version__
from recon.bulk.chunking import chunk_operations, empty_request_size
from recon.bulk.limits import Limits, target_limits
from recon.bulk.matches import Matches, reconcile_matches
from recon.bulk.paths import plan_dir
from recon.bulk.planfile import PLAN_FORMAT
from recon.bulk.remedies import PlannedOp, RemedyBuilder
from recon.collector import gc_paused
from recon.config import Config
from recon.engine import Parquet, open_session
from recon.errors import DataNotFound
from recon.store import ExportRef, Store, atomic_write_bytes

__all__ = ["PLAN_FILE", "PlanSummary", "latest_findings_cycle", "plan"]

PLAN_FILE = "plan.json"
_MIN_ID_BUDGET = 36  # a UUID: what a created id is budgeted at when the export shows nothing longer


@dataclass(frozen=True)
class PlanSummary:
    """What a plan contains (for the CLI and ``recon demo``)."""

    source: str
    target: str
    cycle: str
    out_dir: Path
    plan_id: str
    mode: str  # "bulk" | "single" (target without bulk) | "bulk (unverified)" (no capabilities.json)
    limits: Limits
    operations: dict[str, int]  # per kind: create_user, deactivate_user, …
    chunks: int
    bytes: int  # sum of the chunk files
    largest_chunk: int
    remediated: int  # findings covered by an operation
    skipped: dict[str, int]  # findings left alone, per reason

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    def headline(self) -> str:
        """One line for ``recon demo``: what the plan would do and how big it is (nothing is sent)."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.operations.items()) or "nothing to do"
        return (
            f"remediation plan {self.source} -> {self.target} (cycle {self.cycle}, dry run): "
            f"{self.total_operations} operations ({kinds}) in {self.chunks} BulkRequest chunk(s), "
            f"{self.bytes:,} bytes -> {self.out_dir}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "cycle": self.cycle,
            "out_dir": str(self.out_dir),
            "plan_id": self.plan_id,
            "mode": self.mode,
            "limits": self.limits.to_json(),
            "operations": self.operations,
            "total_operations": self.total_operations,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "largest_chunk": self.largest_chunk,
            "remediated": self.remediated,
            "skipped": self.skipped,
        }


def latest_findings_cycle(store: Store, source: str, target: str) -> str:
    """The newest cycle with a findings.parquet for ``source`` -> ``target``."""
    folder = store.findings_pair_dir(source, target)
    cycles = [cycle for _, _, cycle in store.findings_cycles(source, target)]
    if not cycles:
        raise DataNotFound(
            f"no findings for source {source!r} and target {target!r} under {folder}: "
            f"run recon reconcile --source {source} --target {target} first"
        )
    return cycles[-1]


def _id_budget(target: ExportRef) -> int:
    """Characters budgeted for an id the target will assign: its longest id so far, at least a UUID's."""
    longest = 0
    for table in ("users", "groups"):
        value = (
            pl.scan_parquet(target.table(table)).select(pl.col("id").str.len_chars().max()).collect().item()
        )
        longest = max(longest, int(value or 0))
    return max(_MIN_ID_BUDGET, longest)


def plan(
    store: Store,
    source: str,
    target: str,
    cycle: str | None = None,
    *,
    config: Config | None = None,
    out: Path | None = None,
    delete_orphans: bool = False,
    max_operations: int | None = None,
    max_payload_size: int | None = None,
    etag: bool | None = None,
    matches: Callable[..., Matches] = reconcile_matches,
) -> PlanSummary:
    """Write the remediation plan of ``target`` against ``source`` for ``cycle`` (default: latest)."""
    cycle = cycle or latest_findings_cycle(store, source, target)
    findings = store.findings_dir(source, target, cycle) / "findings.parquet"
    if not findings.is_file():
        raise DataNotFound(
            f"no findings at {findings}: run recon reconcile --source {source} --target {target}"
        )
    source_ref = store.complete_export(source, cycle)
    target_ref = store.complete_export(target, cycle)
    pair = (config or Config()).pair(source, target)
    limits = target_limits(
        store, target, max_operations=max_operations, max_payload_size=max_payload_size, etag=etag
    )
    with open_session(temp_dir=store.temp_dir) as session, gc_paused():
        id_budget = _id_budget(target_ref)
        inputs = {
            "findings": Parquet.of(findings),
            "source_users": Parquet.of(source_ref.table("users")),
            "source_groups": Parquet.of(source_ref.table("groups")),
            "target_users": Parquet.of(target_ref.table("users")),
            "target_groups": Parquet.of(target_ref.table("groups")),
        }
        rows = session.polars(session.run("bulk_plan_findings", None, inputs))
        pairs = matches(store, source_ref, target_ref, pair, users=_needs_user_matches(rows))
        builder = RemedyBuilder(
            match_rules=pair.match,
            group_match_rules=pair.group_match,
            use_if_match=limits.etag is not False,
            delete_orphans=delete_orphans,
            max_operation_bytes=limits.max_payload_size - empty_request_size(),
            id_budget=id_budget,
            manager_of=pairs.user_target_of,
        )
        builder.add_findings_frame(rows)
        del rows
        new_memberships = session.run(
            "bulk_plan_new_memberships",
            None,
            {
                "findings": inputs["findings"],
                "source_users": inputs["source_users"],
                "source_groups": inputs["source_groups"],
                "source_memberships": Parquet.of(source_ref.table("memberships")),
                "user_matches": pairs.users,
                "group_matches": pairs.groups,
                "target_groups": inputs["target_groups"],
            },
        )
        builder.add_new_memberships_frame(session.polars(new_memberships))
        planned = builder.operations()
        chunks = chunk_operations(
            [p.operation for p in planned],
            max_operations=limits.max_operations,
            max_payload_size=limits.max_payload_size,
            id_budget=id_budget,
        )
        folder = out or plan_dir(store, source, target, cycle)
        return _write(
            folder, source, target, cycle, limits, planned, chunks, builder, findings, delete_orphans
        )


def _needs_user_matches(findings: pl.DataFrame) -> bool:
    """Whether a plan of these findings needs the user matches: only to place existing users in
    created groups, and to point a manager reference at the manager's account in the target."""
    kind, attribute = pl.col("kind"), pl.col("attribute").str.to_lowercase()
    wanted = (kind == "group_missing_in_target") | (
        (kind == "attribute_mismatch") & attribute.str.contains("manager", literal=True)
    )
    return bool(findings.select(wanted.any()).item())


def _write(
    folder: Path,
    source: str,
    target: str,
    cycle: str,
    limits: Limits,
    planned: list[PlannedOp],
    chunks: list[Any],
    builder: RemedyBuilder,
    findings: Path,
    delete_orphans: bool,
) -> PlanSummary:
    chunk_entries, blobs = [], []
    for number, chunk in enumerate(chunks, start=1):
        name = f"chunk-{number:04d}.json"
        blob = chunk.to_bytes()
        blobs.append((name, blob))
        chunk_entries.append(
            {
                "file": name,
                "operations": len(chunk.operations),
                "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
        )
    plan_id = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for _, b in blobs)).hexdigest()[:16]
    mode = {True: "bulk", False: "single", None: "bulk (unverified)"}[limits.bulk_supported]
    skipped = Counter(s.reason for s in builder.skipped)
    summary = PlanSummary(
        source=source,
        target=target,
        cycle=cycle,
        out_dir=folder,
        plan_id=plan_id,
        mode=mode,
        limits=limits,
        operations=dict(sorted(Counter(p.kind for p in planned).items())),
        chunks=len(blobs),
        bytes=sum(len(b) for _, b in blobs),
        largest_chunk=max((len(b) for _, b in blobs), default=0),
        remediated=sum(len(p.remediates) for p in planned),
        skipped=dict(sorted(skipped.items())),
    )
    document = {
        "format": PLAN_FORMAT,
        "tool_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "findings": str(findings),
        "delete_orphans": delete_orphans,
        **summary.to_json(),
        "chunk_files": chunk_entries,
        "operations_planned": _entries(planned),  # chunks keep this order
        "skipped_findings": [{"finding": s.finding, "reason": s.reason} for s in builder.skipped],
    }
    with _publishing(folder) as staging:
        for name, blob in blobs:
            atomic_write_bytes(staging / name, blob)
        atomic_write_bytes(
            staging / PLAN_FILE,
            # compact: at 1M users, indented was 105 MB, this 43; the newline written by orjson,
            # not by a copy of the 43 MB
            orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE),
        )
    return summary


def _entries(planned: list[PlannedOp]) -> list[dict[str, Any]]:
    """Each operation's :meth:`PlannedOp.to_json`, its lookup pairs left as tuples: orjson writes a
    tuple as the array a list would be (144,500 operations: no list made per lookup pair)."""
    return [
        {
            "bulk_id": p.operation.bulk_id,
            "kind": p.kind,
            "target_id": p.target_id,
            "source_id": p.source_id,
            "lookup": p.lookup,
            "remediates": p.remediates,
        }
        for p in planned
    ]


@contextmanager
def _publishing(final: Path) -> Iterator[Path]:
    """A staging folder beside ``final`` that replaces it in one rename on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.{uuid.uuid4().hex}.staging"
    staging.mkdir()
    try:
        yield staging
        retired = None
        if final.exists():
            retired = final.parent / f".{final.name}.{uuid.uuid4().hex}.old"
            os.replace(final, retired)
        os.replace(staging, final)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
