"""``recon bulk apply``: send a plan's chunks, record every answer, then check what is now true.

Dry run is the default (nothing is sent; :class:`ApplySummary.preview` says what would be).
With ``dry_run=False``:

- operations an earlier run of the same plan completed are not sent again (:mod:`recon.bulk.ledger`);
  a creation whose earlier outcome is unknown is looked up first (``externalId eq …``, then
  ``userName``/``displayName``), so a replay never creates twice;
- references to bulkIds created by earlier chunks are replaced by the created ids; an operation
  referring to a creation that failed is not sent;
- chunks go to ``/Bulk`` (413 -> split and resend; 501 -> single requests), or one request per
  operation for targets without bulk; 429 waits for Retry-After;
- only safe operations are retried: per-operation 429/5xx of PATCH/PUT/DELETE (idempotent or
  guarded by If-Match) and POSTs a lookup shows absent; a 409 on a creation means look up, not retry;
- ``failOnErrors`` (when given) stops the run when reached; a malformed or lost answer stops it too;
- every request/response (never the Authorization header) goes to ``exchanges.ndjson`` in the
  run folder as it happens, then the target is re-extracted and :mod:`recon.bulk.analyze` runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon.bulk.analyze import AnalyzeSummary, analyze_records
from recon.bulk.exchanges import read_log, records_of, utc_now
from recon.bulk.ledger import Ledger, read_ledger
from recon.bulk.model import BulkRequest
from recon.bulk.paths import new_run_id, run_dir
from recon.bulk.planfile import LoadedPlan, load_plan
from recon.bulk.runner import Runner, RunState
from recon.bulk.send import Sender
from recon.capabilities import load_capabilities
from recon.config import Config
from recon.errors import DataNotFound, UsageError
from recon.store import ExportRef, Store, atomic_write_json

__all__ = ["ApplySummary", "ChunkPreview", "apply_plan", "live_extractor"]

Extractor = Callable[[Store, str], ExportRef]


@dataclass(frozen=True)
class ChunkPreview:
    """What one chunk would send (dry run) or sent."""

    file: str
    operations: int
    already_done: int
    bytes: int
    methods: dict[str, int]
    lines: tuple[str, ...]  # "POST /Users u3 create_user" …


@dataclass(frozen=True)
class ApplySummary:
    """What an apply run did (or, dry, would do)."""

    plan_dir: Path
    target: str
    plan_id: str
    dry_run: bool
    mode: str
    preview: tuple[ChunkPreview, ...] = ()
    run_id: str | None = None
    run_dir: Path | None = None
    requests: int = 0
    sent: int = 0
    already_done: int = 0
    not_sent: int = 0
    stopped: str | None = None
    error: str | None = None
    analysis: AnalyzeSummary | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_dir": str(self.plan_dir),
            "target": self.target,
            "plan_id": self.plan_id,
            "dry_run": self.dry_run,
            "mode": self.mode,
            "run": self.run_id,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "requests": self.requests,
            "operations_sent": self.sent,
            "already_done": self.already_done,
            "not_sent": self.not_sent,
            "stopped": self.stopped,
            "error": self.error,
            "preview": [p.__dict__ | {"lines": list(p.lines)} for p in self.preview],
            "analysis": self.analysis.to_json() if self.analysis else None,
        }


def _mode(store: Store, plan: LoadedPlan) -> tuple[bool, int, int]:
    """(use bulk, maxOperations, maxPayloadSize): stored capabilities win over the plan's limits."""
    capabilities = load_capabilities(store, plan.target)
    use_bulk = plan.limits.bulk_supported is not False
    max_ops, max_bytes = plan.limits.max_operations, plan.limits.max_payload_size
    if capabilities is not None and capabilities.advertised.get("bulk") is not None:
        supported, ops, size = capabilities.bulk_limits()
        use_bulk = supported
        max_ops = min(max_ops, ops) if isinstance(ops, int) and ops > 0 else max_ops
        max_bytes = min(max_bytes, size) if isinstance(size, int) and size > 0 else max_bytes
    return use_bulk, max_ops, max_bytes


def _preview(plan: LoadedPlan, ledger: Ledger) -> tuple[ChunkPreview, ...]:
    previews = []
    for name, chunk in plan.chunks:
        todo = [op for op in chunk.operations if op.bulk_id not in ledger.done]
        methods: dict[str, int] = {}
        for op in todo:
            methods[op.method] = methods.get(op.method, 0) + 1
        lines = tuple(
            f"{op.method} {op.path} {op.bulk_id} {plan.operations[str(op.bulk_id)]['kind']}"
            + (
                " (looked up first: an earlier attempt may have created it)"
                if op.bulk_id in ledger.uncertain
                else ""
            )
            for op in todo
        )
        size = len(BulkRequest(tuple(todo)).to_bytes()) if todo else 0
        previews.append(
            ChunkPreview(name, len(todo), len(chunk.operations) - len(todo), size, methods, lines)
        )
    return tuple(previews)


def apply_plan(
    store: Store,
    plan_folder: Path,
    target: str,
    *,
    sender: Sender | None = None,
    extract: Extractor | None = None,
    dry_run: bool = True,
    fail_on_errors: int | None = None,
    retry_rounds: int = 2,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplySummary:
    """Apply the plan in ``plan_folder`` to ``target`` (dry run unless ``dry_run=False``)."""
    plan = load_plan(plan_folder)
    if plan.target != target:
        raise UsageError(f"the plan in {plan_folder} is for target {plan.target!r}, not {target!r}")
    if fail_on_errors is not None and fail_on_errors < 1:
        raise UsageError(f"--fail-on-errors must be at least 1, got {fail_on_errors}")
    ledger = read_ledger(store, target, plan.plan_id)
    use_bulk, max_ops, max_bytes = _mode(store, plan)
    preview = _preview(plan, ledger)
    mode = "bulk" if use_bulk else "single"
    if dry_run:
        return ApplySummary(plan_folder, target, plan.plan_id, True, mode, preview)
    if sender is None or extract is None:
        raise UsageError("apply needs a connection to the target and an extractor (use the CLI)")
    run_id = new_run_id(store, target)
    folder = run_dir(store, target, run_id)
    folder.mkdir(parents=True)
    started = _now()
    meta = {
        "run": run_id,
        "plan_id": plan.plan_id,
        "plan_dir": str(plan_folder),
        "target": target,
        "mode": mode,
        "fail_on_errors": fail_on_errors,
        "started": started,
        "status": "running",
    }
    atomic_write_json(folder / "run.json", meta)
    state = RunState(created=dict(ledger.created))
    with open(folder / "exchanges.ndjson", "ab") as log:
        runner = Runner(plan, ledger, state, sender, log, use_bulk, max_ops, max_bytes, fail_on_errors, sleep)
        try:
            for name, chunk in plan.chunks:
                runner.chunk(name, chunk, retry_rounds)
        except BaseException as exc:
            atomic_write_json(
                folder / "run.json", meta | {"status": "failed", "finished": _now(), "error": str(exc)}
            )
            raise
    status = "error" if state.error else ("stopped" if state.stop else "finished")
    atomic_write_json(
        folder / "run.json",
        meta
        | {
            "mode": "bulk" if runner.use_bulk else "single",
            "status": status,
            "finished": _now(),
            "stopped": state.stop,
            "error": state.error,
            "requests": state.requests,
            "sent": state.sent,
        },
    )
    finished = utc_now()
    export = extract(store, target)
    records = records_of(read_log(folder / "exchanges.ndjson"))
    analysis, _ = analyze_records(
        store,
        target,
        records,
        run_id=run_id,
        cycle=export.cycle,
        run_finished=finished,
        extra={
            "plan_id": plan.plan_id,
            "plan_dir": str(plan_folder),
            "stopped": state.stop,
            "error": state.error,
        },
    )
    return ApplySummary(
        plan_folder,
        target,
        plan.plan_id,
        False,
        "bulk" if runner.use_bulk else "single",
        preview,
        run_id,
        folder,
        state.requests,
        state.sent,
        state.already_done,
        state.not_sent,
        state.stop,
        state.error,
        analysis,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def live_extractor(config: Config) -> Extractor:
    """The re-extract apply ends with: ``recon extract`` of the target into a new cycle."""

    def extract(store: Store, system: str) -> ExportRef:
        from recon.sources.system import ExtractRequest, extract_system

        result = extract_system(store, config, ExtractRequest(system=system))
        if not result.complete:
            raise DataNotFound(
                f"the re-extract of {system!r} ({result.export_path}) is {result.manifest.status}: "
                "run recon extract again, then recon bulk analyze --log on this run's exchanges.ndjson"
            )
        return store.export(system, result.manifest.cycle)

    return extract
