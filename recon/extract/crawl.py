"""One live crawl: pages → integrity checks → local filter → normalise → ExportWriter.

:class:`Crawl` holds the state of one ``extract_live`` run across resource types: the resume
journal it writes, the id ledger used to count distinct ids, the anomalies found, the group
members completed one by one when a server leaves them out of list responses.

Threads (users only; groups are read as before, one request at a time): the next page is
requested while the current one is processed (:mod:`recon.scim.stream`), pages of plain
users are made into columns a few at a time on a worker (:mod:`recon.extract.columns`, in
page order, so rows and anomalies come out as if each resource had been normalised in
turn), the journal and the Parquet files are written by threads of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from recon.engine import Parquet
from recon.errors import ScimError, UsageError
from recon.extract.columns import Done, NotPlain, UsersColumns, plain_texts
from recon.extract.normalize import Rejected, normalise, parse_scim_datetime
from recon.extract.resume import ResumeJournal
from recon.extract.writer import Connection, ExportWriter
from recon.scim.anomalies import AnomalyLog
from recon.scim.client import ScimClient
from recon.scim.pages import LIST_RESPONSE, Page, parse_list_response, resource_ids
from recon.scim.paging import CursorPaginator, IndexPaginator
from recon.scim.stream import PageStream
from recon.store import Manifest

__all__ = [
    "RESOURCES",
    "Crawl",
    "ExtractRequest",
    "IdLedger",
    "LocalFilter",
    "Progress",
    "ProgressEvent",
    "canonical_resources",
]

RESOURCES = ("Users", "Groups")
_LEDGER = pa.schema([("resource", pa.string()), ("id", pa.string())])


@dataclass(frozen=True)
class ExtractRequest:
    """What ``recon extract`` was asked to do (None = from recon.toml / capabilities)."""

    system: str
    cycle: str | None = None
    since: str | None = None
    filter_expr: str | None = None
    resources: tuple[str, ...] = RESOURCES
    page_size: int | None = None
    concurrency: int | None = None
    paging: str = "auto"  # auto | index | cursor
    resume: bool = False
    max_pages: int | None = None
    member_concurrency: int = 4


@dataclass(frozen=True)
class ProgressEvent:
    """One page taken: running totals for a progress bar."""

    resource: str
    items: int
    total: int | None
    pages: int
    replayed: bool


Progress = Callable[[ProgressEvent], None]


def canonical_resources(names: Iterable[str]) -> tuple[str, ...]:
    canonical = {r.lower(): r for r in RESOURCES}
    result = []
    for name in names:
        key = name.strip().lower()
        if key not in canonical:
            raise UsageError(f"--resources {name!r}: use Users, Groups or both (Users,Groups)")
        if canonical[key] not in result:
            result.append(canonical[key])
    if not result:
        raise UsageError("--resources is empty: use Users, Groups or both")
    return tuple(result)


class LocalFilter:
    """Decides which resources of an unfiltered crawl belong to a filtered export."""

    def __init__(self, watermark: str | None, filter_expr: str | None) -> None:
        self._watermark = datetime.fromisoformat(watermark) if watermark else None
        self._filter: Any = None
        self._matches: Any = None
        if filter_expr is not None:
            try:
                from recon.scim.filter import matches, parse
            except ImportError as exc:  # pragma: no cover - the filter engine ships with recon
                raise UsageError(
                    "this server cannot filter and recon's local filter engine is unavailable; "
                    "use --since or a server that supports filtering"
                ) from exc
            self._filter = parse(filter_expr)
            self._matches = matches
        self.without_last_modified = 0

    def keep(self, resource: dict[str, Any], resource_type: str) -> bool:
        """Whether ``resource`` satisfies the export's filter (lastModified > watermark, or --filter)."""
        if self._watermark is not None:
            meta = resource.get("meta")
            stamp = meta.get("lastModified") if isinstance(meta, dict) else None
            try:
                parsed = parse_scim_datetime(stamp, "meta.lastModified", [])
            except Rejected:
                parsed = None
            if parsed is None:
                self.without_last_modified += 1
                return False
            return parsed > self._watermark
        return bool(self._matches(self._filter, resource, resource_type))


class IdLedger:
    """Every id fetched (before dedupe and local filtering), to count distinct ids at the end.

    While each resource type's ids arrive in increasing order (servers list by id), every id
    is new and the count is the answer; the ids are kept in a Parquet file all the same, for
    the count of distinct ids (``sql/extract_fetched_ids.sql``) once they do not.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = pq.ParquetWriter(path, _LEDGER)
        self._pages: list[tuple[str, list[str]]] = []
        self._buffered = 0
        self._counts: dict[str, int] = {}
        self._last: dict[str, str] = {}
        self._in_order = True

    def add(self, resource: str, ids: list[str]) -> None:
        """Record the ids of one page."""
        if not ids:
            return
        if self._in_order:
            last = self._last.get(resource)
            self._in_order = (last is None or ids[0] > last) and all(map(str.__lt__, ids, ids[1:]))
            self._last[resource] = ids[-1]
        self._counts[resource] = self._counts.get(resource, 0) + len(ids)
        self._pages.append((resource, ids))
        self._buffered += len(ids)
        if self._buffered >= 50_000:
            self._flush()

    def _flush(self) -> None:
        if self._pages:
            resources = [resource for resource, ids in self._pages for _ in range(len(ids))]
            ids = [i for _, page in self._pages for i in page]
            self._writer.write_table(pa.table({"resource": resources, "id": ids}, schema=_LEDGER))
            self._pages, self._buffered = [], 0

    def distinct(self, con: Connection) -> dict[str, int]:
        """Close the ledger; distinct ids fetched per resource type (``con`` may be a function)."""
        self._flush()
        self._writer.close()
        if self._in_order:
            return dict(sorted(self._counts.items()))
        fetched = {"fetched_ids": Parquet.of(self.path)}
        session = con() if callable(con) else con
        rows = session.tuples(session.run("extract_fetched_ids", inputs=fetched))
        return {str(row[0]): int(row[2]) for row in rows}


@dataclass
class _ResourceRun:
    resource: str
    method: str
    server_filter: bool
    fetched: int = 0
    kept: int = 0
    pages: int = 0
    total: int | None = None
    anomalies: AnomalyLog = field(default_factory=AnomalyLog)
    observations: dict[str, Any] = field(default_factory=dict)


class Crawl:
    """One run of ``extract_live`` (state shared by the per-resource crawls)."""

    def __init__(
        self,
        client: ScimClient,
        request: ExtractRequest,
        plan: dict[str, Any],
        journal: ResumeJournal,
        local: LocalFilter | None,
        server_filter_text: str | None,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.request = request
        self.plan = plan
        self.journal = journal
        self.local = local
        self.server_filter_text = server_filter_text
        self.progress = progress
        self.log = AnomalyLog()
        self.runs: dict[str, _ResourceRun] = {}
        self.received_any = False
        self.gave_up = False
        self.filtered_locally = False
        self.members_mode: str | None = None
        self.rejected = 0
        self.replayed = 0
        self.columns: UsersColumns[tuple[_ResourceRun, int]] = UsersColumns()

    # -- crawling -------------------------------------------------------------------------
    def crawl(self, resource: str, writer: ExportWriter, ledger: IdLedger) -> None:
        """Read every page of ``/{resource}`` (journal first, then live) into ``writer``.

        A refused filter restarts the crawl unfiltered (local filtering); an error after data
        arrived ends the crawl with a ``gave_up`` anomaly; before any data it is raised.
        """
        state = self.journal.settings["resources"].setdefault(
            resource, {"server_filter": self.plan["server_filter"], "method": self.plan["method"]}
        )
        self.journal.save()
        self.journal.flush()  # the replay below reads the journal's index
        run = _ResourceRun(resource, state["method"], state["server_filter"])
        self.runs[resource] = run
        if not run.server_filter and self.local is not None:
            self.filtered_locally = True
        while True:
            stream = self._stream(run)
            try:
                for page in stream:
                    self._take(run, page, writer, ledger)
            except ScimError as exc:
                stream.close()
                self.flush(writer)
                if run.pages == 0 and run.server_filter and exc.status in (400, 501):
                    self._fall_back(run, state, exc)
                    continue
                if run.pages == 0 and exc.status == 404 and self.request.resources == RESOURCES:
                    self.log.add(
                        "resource_not_served", f"/{resource} answered 404; skipped", example=str(exc)
                    )
                    return
                self._absorb(stream, run)
                if not self.received_any:
                    raise
                self.gave_up = True
                hint = (
                    "; the cursor may have expired: run again without --resume"
                    if run.method == "cursor" and self.request.resume and exc.status == 400
                    else ""
                )
                self.log.add(
                    "gave_up",
                    f"{resource}: the crawl stopped on an error after {run.pages} page(s): {exc}{hint}",
                    incomplete=True,
                )
                return
            except BaseException as exc:
                stream.close(wait=isinstance(exc, Exception))  # an interrupt does not wait for the server
                raise
            self.flush(writer)
            self._absorb(stream, run)
            return

    def _fall_back(self, run: _ResourceRun, state: dict[str, Any], exc: ScimError) -> None:
        run.server_filter = False
        state["server_filter"] = False
        self.journal.save()
        self.filtered_locally = True
        scim_type = f", {exc.scim_type}" if exc.scim_type else ""
        self.log.add(
            "filter_fallback",
            f"the server refused the filter (HTTP {exc.status}{scim_type}): "
            "exported everything and filtered locally",
            example=f"{run.resource}: {exc}",
        )
        run.observations["filter_refused"] = exc.status

    def _stream(self, run: _ResourceRun) -> PageStream:
        extra: dict[str, str] = {}
        if run.server_filter and self.server_filter_text is not None:
            extra["filter"] = self.server_filter_text
        size = self.plan["page_size"]
        paginator: IndexPaginator | CursorPaginator
        if run.method == "cursor":
            paginator = CursorPaginator(size, extra=extra, max_pages=self.request.max_pages)
        else:
            paginator = IndexPaginator(size, extra=extra, max_pages=self.request.max_pages)
        resource = run.resource

        def replay() -> Iterator[Page]:
            for request, body in self.journal.pages(resource):
                value = orjson.loads(body)
                yield parse_list_response(
                    value, resource=resource, request=request, url="(resume journal)", body=body
                )

        # Users: the next page is sent while this one is written. Not groups: completing their
        # members asks the server too, and the requests keep the order they always had.
        ahead = resource != "Groups"
        return PageStream(
            paginator,
            lambda request: self.client.fetch_page(resource, request),
            self.plan["concurrency"],
            replay=replay(),
            send=(lambda request: self.client.send_page(resource, request)) if ahead else None,
            read=(lambda request, sent: self.client.read_page(resource, request, sent)) if ahead else None,
        )

    def _absorb(self, stream: PageStream, run: _ResourceRun) -> None:
        paginator = stream.paginator
        run.total = paginator.total
        run.anomalies.extend(paginator.anomalies)
        run.observations.update(paginator.observations)

    def _take(self, run: _ResourceRun, page: Page, writer: ExportWriter, ledger: IdLedger) -> None:
        resource = run.resource
        if not page.replayed:
            if resource == "Groups":
                self._complete_members(page)
            self.journal.record(resource, page.request, page.body)
        self.received_any = True
        self.replayed += page.replayed
        run.pages += 1
        run.fetched += len(page.resources)
        resource_type = "User" if resource == "Users" else "Group"
        ids = [rid for rid in resource_ids(page.resources) if rid is not None]
        if set(map(type, ids)) != {str}:
            ids = list(map(str, ids))
        kept = page.resources
        if self.local is not None and not run.server_filter:
            kept = [item for item in kept if isinstance(item, dict) and self._keep(item, resource_type)]
        plain = None
        if resource == "Users" and kept:
            try:
                plain = plain_texts(kept)
            except NotPlain:
                self.flush(writer)  # the pages before it first: rows and anomalies stay in page order
        if plain is not None:  # plain users: made into columns a few pages at a time, on a worker
            self._write_users(self.columns.add((run, page.number), plain), writer)
        else:
            for item in kept:
                self._normalise_one(run, page.number, item, resource_type, writer)
        ledger.add(resource, ids)
        if self.progress is not None:
            self.progress(ProgressEvent(resource, run.fetched, page.total_results, run.pages, page.replayed))

    def flush(self, writer: ExportWriter) -> None:
        """Write the pages of users still being made into columns."""
        self._write_users(self.columns.drain(), writer)

    def _write_users(self, done: Done[tuple[_ResourceRun, int]], writer: ExportWriter) -> None:
        for (run, number), raws, batch in done:
            if batch is not None:
                writer.add_users(batch)
                run.kept += batch.num_rows
            else:  # the texts are the resources as orjson wrote them: read back, they are equal
                for raw in raws:
                    self._normalise_one(run, number, orjson.loads(raw), "User", writer)

    def close(self) -> None:
        """Stop the worker threads (after an error: the pages not written yet are dropped)."""
        self.columns.close()

    def _normalise_one(
        self, run: _ResourceRun, page_number: int, item: Any, resource_type: str, writer: ExportWriter
    ) -> None:
        rid = item.get("id") if isinstance(item, dict) else None
        try:
            normalised = normalise(item)
        except Rejected as exc:
            self.rejected += 1
            self.log.add(
                "rejected_resources",
                "resources that cannot be read as SCIM Users/Groups were left out",
                incomplete=True,
                example=f"{run.resource} page {page_number} (id {rid}): {exc}",
            )
            return
        if normalised.resource_type != resource_type:
            self.log.add(
                "wrong_resource_type",
                f"a {normalised.resource_type} came back from /{run.resource} (kept as such)",
                example=f"id {rid}",
            )
        for kind, detail in normalised.anomalies:
            self.log.add(kind, "value(s) accepted after coercion", example=f"id {rid}: {detail}")
        writer.add(normalised)
        run.kept += 1

    def _keep(self, item: dict[str, Any], resource_type: str) -> bool:
        assert self.local is not None
        return self.local.keep(item, resource_type)

    def _complete_members(self, page: Page) -> None:
        """Fetch groups one by one when the server leaves ``members`` out of list responses."""
        lacking = [
            i
            for i, g in enumerate(page.resources)
            if isinstance(g, dict) and "members" not in g and g.get("id")
        ]
        if len(lacking) < len(page.resources):
            self.members_mode = self.members_mode or "inline"  # the list does carry members
        if not lacking or self.members_mode == "inline":
            return
        if self.members_mode is None:
            probe = lacking[:3]
            fetched = [self.client.get_json(f"/Groups/{page.resources[i]['id']}") for i in probe]
            for i, group in zip(probe, fetched, strict=True):
                page.resources[i] = group
            self.members_mode = "fetch" if any(g.get("members") for g in fetched) else "inline"
            lacking = lacking[len(probe) :]
        if self.members_mode == "fetch" and lacking:
            workers = max(1, self.request.member_concurrency)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recon-members") as pool:
                groups = list(
                    pool.map(lambda i: self.client.get_json(f"/Groups/{page.resources[i]['id']}"), lacking)
                )
            for i, group in zip(lacking, groups, strict=True):
                page.resources[i] = group
        page.body = orjson.dumps(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": page.total_results,
                "itemsPerPage": page.items_per_page,
                "startIndex": page.start_index,
                "nextCursor": page.next_cursor,
                "Resources": page.resources,
            }
        )

    # -- the manifest ---------------------------------------------------------------------
    def conclude(self, manifest: Manifest, distinct: dict[str, int]) -> None:
        """Anomalies, counts and status into ``manifest``."""
        log = AnomalyLog()
        for resource, run in self.runs.items():
            log.extend(run.anomalies, prefix=f"{resource}: ")
            unique = distinct.get(resource, 0)
            if run.total is not None and unique < run.total:
                log.add(
                    "items_missing",
                    "fewer distinct records were received than the server's totalResults",
                    incomplete=True,
                    example=f"{resource}: {unique} distinct of totalResults {run.total}",
                )
            elif run.total is not None and unique > run.total:
                log.add(
                    "more_than_total",
                    "more distinct records than totalResults (the directory changed during the crawl)",
                    example=f"{resource}: {unique} distinct, totalResults {run.total}",
                )
        log.extend(self.log)
        if self.local is not None and self.local.without_last_modified:
            log.add(
                "no_last_modified",
                f"{self.local.without_last_modified} resource(s) without meta.lastModified were left out of "
                "the locally filtered delta",
            )
        manifest.pages = sum(run.pages for run in self.runs.values())
        manifest.total_results = {r: run.total for r, run in self.runs.items()}
        manifest.filtered_locally = self.filtered_locally
        manifest.rejected = self.rejected
        for anomaly in log:
            entry = anomaly.to_json()
            manifest.add_anomaly(entry.pop("kind"), entry.pop("detail"), entry.pop("count"), **entry)
        manifest.status = "partial" if log.incomplete else "complete"
