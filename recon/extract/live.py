"""``recon extract``: a live export from a SCIM server into an export partition (CONTRACT §1, §3).

Strategy (from capabilities.json, discovered first when missing): cursor paging when the
server advertises it (index paging when ``--concurrency`` > 1 asks for parallel pages), page
size from the config capped by ``maxPageSize`` and ``filter.maxResults``, the filter sent to
the server when it advertises filtering. A server that refuses the filter (400/501), or does
not advertise filtering, gets a full crawl filtered locally (``filtered_locally`` and an
anomaly in the manifest).

Pages stream through :class:`recon.extract.writer.ExportWriter` inside
:meth:`recon.store.Store.publishing` (how, and on which threads: :mod:`recon.extract.crawl`),
and are also kept in a resume journal (:mod:`recon.extract.resume`) until the export is
published, so ``--resume`` can replay them and continue. Status: ``partial`` whenever
records may be missing (fewer distinct ids than ``totalResults``, a crawl cut by a loop or
runaway, retries given up mid-crawl, rejected resources), with the reasons in
``anomalies``; else ``complete``.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon.capabilities import Capabilities, load_capabilities, save_capabilities
from recon.engine import Session, open_session
from recon.errors import ReconError, UsageError
from recon.extract.crawl import (
    RESOURCES,
    Crawl,
    ExtractRequest,
    IdLedger,
    LocalFilter,
    Progress,
    ProgressEvent,
    canonical_resources,
)
from recon.extract.files import since_filter
from recon.extract.resume import ResumeJournal
from recon.extract.writer import ExportWriter
from recon.scim.client import ScimClient, redact_url
from recon.scim.discovery import discover
from recon.store import ExportRef, Manifest, Store, atomic_write_json, check_name, cycle_id_now

__all__ = [
    "RESOURCES",
    "ExtractRequest",
    "ExtractResult",
    "Progress",
    "ProgressEvent",
    "choose_plan",
    "discover_and_save",
    "extract_live",
]

_MEMORY_LIMIT = "1GB"  # DuckDB's share when $RECON_MEMORY_LIMIT is not set
_BATCH_ROWS = 5_000  # resources buffered before a Parquet row group (bounds memory while crawling)


@dataclass(frozen=True)
class ExtractResult:
    """What ``recon extract`` did."""

    export_path: Path
    manifest: Manifest
    resumed: bool
    plan: dict[str, Any]
    held: Path | None = None  # where this partial run was kept, the complete export staying published

    @property
    def complete(self) -> bool:
        return self.manifest.status == "complete"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def discover_and_save(store: Store, client: ScimClient, system: str) -> Capabilities:
    """Run discovery against ``client`` and write ``capabilities.json`` (observations kept)."""
    previous = load_capabilities(store, system)
    capabilities = Capabilities(
        system=system,
        base_url=redact_url(client.base_url),
        discovered_at=_now(),
        advertised=discover(client),
        observed=previous.observed if previous is not None else {},
    )
    save_capabilities(store, capabilities)
    return capabilities


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def choose_plan(
    capabilities: Capabilities, request: ExtractRequest, *, page_size: int, concurrency: int
) -> dict[str, Any]:
    """Paging method, page size, concurrency and whether the filter goes to the server."""
    pagination = capabilities.pagination()
    cursor_ok = bool(pagination.get("cursor"))
    index_ok = pagination.get("index", True) is not False
    method = request.paging
    if method == "auto":
        method = "cursor" if cursor_ok and (concurrency <= 1 or not index_ok) else "index"
    elif method not in ("index", "cursor"):
        raise UsageError(f"--paging {method!r}: use auto, index or cursor")
    caps = [
        c
        for c in (
            _positive(pagination.get("maxPageSize")),
            _positive((capabilities.advertised.get("filter") or {}).get("maxResults")),
        )
        if c is not None
    ]
    size = min([page_size, *caps])
    wants_filter = request.since is not None or request.filter_expr is not None
    return {
        "method": method,
        "page_size": size,
        "page_size_asked": page_size,
        "concurrency": concurrency if method == "index" else 1,
        "server_filter": wants_filter and capabilities.supports("filter"),
        "filter_advertised": capabilities.supports("filter"),
    }


def _journal_settings(
    request: ExtractRequest,
    cycle: str,
    kind: str,
    filter_text: str | None,
    watermark: str | None,
    plan: dict[str, Any],
) -> dict[str, Any]:
    return {
        "system": request.system,
        "cycle": cycle,
        "kind": kind,
        "filter": filter_text,
        "watermark": watermark,
        "since": request.since,
        "filter_expr": request.filter_expr,
        "resources_asked": list(canonical_resources(request.resources)),
        "plan": plan,
        "started": _now(),
        "resources": {},
    }


def extract_live(
    store: Store,
    client: ScimClient,
    request: ExtractRequest,
    *,
    capabilities: Capabilities | None = None,
    page_size: int = 200,
    concurrency: int = 1,
    progress: Progress | None = None,
) -> ExtractResult:
    """Export ``request.system`` from the server behind ``client`` into the store.

    ``page_size`` and ``concurrency`` are the defaults (recon.toml) that ``request`` may
    override. Raises :class:`~recon.errors.ScimError` when nothing could be read; once
    pages arrived, errors end the crawl and the export is published as ``partial``.
    """
    check_name(request.system, "system name")
    if request.since is not None and request.filter_expr is not None:
        raise UsageError("give --since or --filter, not both")
    resources = canonical_resources(request.resources)
    if capabilities is None:
        capabilities = load_capabilities(store, request.system) or discover_and_save(
            store, client, request.system
        )
    journal: ResumeJournal | None = None
    if request.resume:
        journal = ResumeJournal.find(store, request.system, request.cycle)
        if journal is None:
            which = f" of cycle {request.cycle}" if request.cycle else ""
            raise UsageError(f"nothing to resume: no interrupted extract{which} of system {request.system!r}")
        settings = journal.settings
        if (request.since, request.filter_expr) != (None, None) and (
            request.since != settings.get("since") or request.filter_expr != settings.get("filter_expr")
        ):
            raise UsageError(
                "--resume continues the interrupted extract with its own --since/--filter; drop them"
            )
        cycle, kind = settings["cycle"], settings["kind"]
        filter_text, watermark = settings["filter"], settings["watermark"]
        plan = settings["plan"]
        resources = tuple(settings["resources_asked"])
        request = replace(request, since=settings.get("since"), filter_expr=settings.get("filter_expr"))
    else:
        cycle = check_name(request.cycle or cycle_id_now(), "cycle id")
        kind = "delta" if request.since is not None or request.filter_expr is not None else "full"
        filter_text = watermark = None
        if request.since is not None:
            filter_text, watermark = since_filter(request.since)
        elif request.filter_expr is not None:
            filter_text = request.filter_expr
        plan = choose_plan(
            capabilities,
            request,
            page_size=request.page_size or page_size,
            concurrency=request.concurrency or concurrency,
        )
    local: LocalFilter | None = None
    if filter_text is not None:
        local = LocalFilter(watermark, request.filter_expr)  # parses --filter: bad syntax stops here
    if journal is None:
        journal = ResumeJournal.create(
            store,
            request.system,
            cycle,
            kind,
            _journal_settings(request, cycle, kind, filter_text, watermark, plan),
        )
    served = {
        rt.get("name") for rt in capabilities.advertised.get("resource_types") or [] if isinstance(rt, dict)
    }
    run = Crawl(client, request, plan, journal, local, filter_text, progress)
    if filter_text is not None and not plan["server_filter"]:
        run.log.add(
            "filter_unsupported",
            "the server does not advertise filtering: exported everything and filtered locally",
        )
    manifest = Manifest(system=request.system, cycle=cycle, kind=kind)
    manifest.filter, manifest.watermark = filter_text, watermark
    manifest.started = journal.settings.get("started") or _now()
    ref = store.export(request.system, cycle, kind)
    # Connected only if rows must be sorted at the end (ids out of order, groups): capped, so
    # memory stays flat (DuckDB spills beyond).
    con = _LazyConnection(store)
    held: Path | None = None
    try:
        with store.publishing(ref.path) as staging, _interpreter_for_pages():
            writer = ExportWriter(staging, batch_rows=_BATCH_ROWS)
            ledger = IdLedger(staging / "_fetched_ids.parquet")
            for resource in resources:
                if served and resource[:-1] not in served and request.resources == RESOURCES:
                    run.log.add(
                        "resource_not_served", f"/ResourceTypes does not list {resource[:-1]}; skipped"
                    )
                    continue
                if run.gave_up:
                    run.log.add(
                        "not_fetched", f"{resource} were not fetched after an earlier error", incomplete=True
                    )
                    continue
                run.crawl(resource, writer, ledger)
            journal.flush()  # a page that could not be kept for --resume fails the extract, as before
            distinct = ledger.distinct(con)
            ledger.path.unlink()
            run.conclude(manifest, distinct)
            manifest.finished = _now()
            manifest.origin = _origin(client, plan, run, capabilities)
            writer.finish(con, manifest)
            manifest.items_received = {r: x.fetched for r, x in run.runs.items()}
            atomic_write_json(staging / "manifest.json", manifest.to_json())
            if manifest.status != "complete" and _is_complete(ref):
                held = store.hold(staging, ref)  # a partial run never replaces a complete export
    except ReconError:
        if not run.received_any:
            journal.discard()  # nothing was read: nothing to resume
        raise
    finally:
        run.close()
        journal.close()
        con.close()
    _record_observations(store, request.system, run)
    if not run.gave_up:
        journal.discard()
    return ExtractResult(ref.path, manifest, request.resume, plan, held)


def _is_complete(ref: ExportRef) -> bool:
    """True when ``ref`` holds a published export whose manifest says complete."""
    try:
        return ref.manifest_path.is_file() and ref.manifest().status == "complete"
    except ReconError:
        return False


class _LazyConnection:
    """An engine session opened on first use."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._session: Session | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._session = open_session(temp_dir=self._store.temp_dir, buffer_default=_MEMORY_LIMIT)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


@contextlib.contextmanager
def _interpreter_for_pages() -> Iterator[None]:
    """Tune the interpreter for the crawl (restored when it ends).

    - The garbage collector's youngest generation runs every 100,000 allocations instead of
      700: each page becomes some 10^4 dicts and lists that live until the page is written,
      and with the default they are scanned and promoted over and over (a third of the
      parsing time), although JSON values never form cycles (nor do the client's responses:
      see :meth:`recon.scim.client.ScimClient.request`).
    - Threads take turns every millisecond instead of every 5: the threads that fetch the next
      page, write the journal and the Parquet files and build the columns hold the GIL only
      briefly between long calls without it, and each wait for it delays their next call.
    """
    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(100_000, *threshold[1:])
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)


def _origin(
    client: ScimClient, plan: dict[str, Any], run: Crawl, capabilities: Capabilities
) -> dict[str, Any]:
    return {
        "method": "live",
        "base_url": client.redact(redact_url(client.base_url)),
        "plan": {**plan, "paging": {r: x.method for r, x in run.runs.items()}},
        "server_filter": {r: x.server_filter for r, x in run.runs.items()},
        "members": run.members_mode,
        "client": client.stats.to_json(),
        "capabilities_discovered_at": capabilities.discovered_at,
        "resumed_pages": run.replayed,
    }


def _record_observations(store: Store, system: str, run: Crawl) -> None:
    capabilities = load_capabilities(store, system) or Capabilities(system=system)
    for resource, outcome in run.runs.items():
        for key, value in outcome.observations.items():
            capabilities.observe(f"{resource}.{key}", value, "extract")
        if outcome.pages and outcome.method == "cursor":
            capabilities.observe("pagination.cursor", "works", "extract")
        if outcome.pages and outcome.server_filter and run.server_filter_text is not None:
            capabilities.observe(f"{resource}.filter_accepted", run.server_filter_text, "extract")
    save_capabilities(store, capabilities)
