"""Reading a plan folder back (``plan.json`` + chunk files), checking nothing was altered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from recon.bulk.exchanges import read_json_file
from recon.bulk.limits import Limits
from recon.bulk.model import BulkRequest, may_refer, parse_request
from recon.collector import gc_paused
from recon.errors import DataNotFound, InputError

__all__ = ["PLAN_FORMAT", "LoadedPlan", "load_plan"]

PLAN_FORMAT = "recon-bulk-plan/2"  # what recon bulk plan writes (compact JSON)
# /1 (before 2026-12: indented, each operation's chunk, method, path, If-Match and references
# repeated from its chunk file) is still read: its entries have the bulk_id, kind and lookup
# that apply uses
_FORMATS = (PLAN_FORMAT, "recon-bulk-plan/1")


@dataclass(frozen=True)
class LoadedPlan:
    """A plan as apply uses it."""

    folder: Path
    plan_id: str
    source: str
    target: str
    cycle: str
    limits: Limits
    chunks: tuple[tuple[str, BulkRequest], ...]
    operations: dict[str, dict[str, Any]]  # bulkId -> its plan.json entry

    @property
    def total_operations(self) -> int:
        return sum(len(chunk.operations) for _, chunk in self.chunks)


def load_plan(folder: Path) -> LoadedPlan:
    """Load ``folder``; a missing, altered or inconsistent file raises a one-line error."""
    with gc_paused():  # a 1M-user plan is millions of acyclic dicts: the collector tripled the time
        return _load(folder)


def _load(folder: Path) -> LoadedPlan:
    path = folder / "plan.json"
    if not path.is_file():
        raise DataNotFound(f"no plan.json in {folder}: write a plan with recon bulk plan")
    document = read_json_file(path)
    if not isinstance(document, dict) or document.get("format") not in _FORMATS:
        raise InputError(f"{path}: not a recon bulk plan (format {' or '.join(_FORMATS)})")
    chunks = []
    for entry in document.get("chunk_files") or []:
        name = str(entry.get("file"))
        chunk_path = folder / name
        try:
            blob = chunk_path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError(f"{chunk_path}: listed in plan.json but missing") from exc
        if hashlib.sha256(blob).hexdigest() != entry.get("sha256"):
            raise InputError(
                f"{chunk_path}: changed since the plan was written (sha256 differs from plan.json)"
            )
        try:
            body = orjson.loads(blob)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{chunk_path}: not valid JSON ({exc})") from exc
        chunks.append((name, parse_request(body, str(chunk_path), unreferenced=not may_refer(blob))))
    operations = {str(op["bulk_id"]): op for op in document.get("operations_planned") or []}
    missing = [op.bulk_id for _, chunk in chunks for op in chunk.operations if op.bulk_id not in operations]
    if missing:
        raise InputError(
            f"{path}: operations {missing[:5]} of the chunk files are not described in plan.json"
        )
    return LoadedPlan(
        folder=folder,
        plan_id=str(document.get("plan_id")),
        source=str(document.get("source")),
        target=str(document.get("target")),
        cycle=str(document.get("cycle")),
        limits=Limits.from_json(document.get("limits") or {}),
        chunks=tuple(chunks),
        operations=operations,
    )
