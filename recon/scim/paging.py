"""Paging through SCIM list responses: index (RFC 7644 §3.4.2.4) and cursor (RFC 9865).

A paginator is an explicit object: :meth:`next_request` says what to ask for next (or
None when done), :meth:`accept` takes the page that came back, checks it and decides
whether its resources count. The checks (page integrity):

- ``startIndex`` is 1-based; the next index advances by the items *received*, never by the
  count asked, so silent page-size caps and short pages lose nothing;
- ``totalResults`` changing mid-crawl is recorded; with index paging a *decrease* means a
  deletion may have shifted an unseen item before our offset, so the crawl may be missing
  records (an insertion only causes a duplicate, which the writer drops);
- a page whose ids repeat an earlier page stops the crawl (servers that answer past the end
  with page 1 again); past the reported end it is only noted, before it the crawl is cut;
- ids shared with the previous page (shifting offsets) are counted;
- a cursor seen twice, runs of empty pages with a cursor, more items than twice the largest
  ``totalResults``, or more than ``max_pages`` pages stop the crawl as runaway.

Index paging asks one page past the reported end: an empty answer confirms the end, new ids
reveal an understated ``totalResults``. :class:`PageStream` drives a paginator, optionally
fetching index pages concurrently (in-order consumption, gap fill for short pages), and can
replay pages read earlier (resume) before going live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from recon.errors import ScimError

__all__ = [
    "DEFAULT_MAX_PAGES",
    "LIST_RESPONSE",
    "Anomaly",
    "AnomalyLog",
    "CursorPaginator",
    "IndexPaginator",
    "Page",
    "PageRequest",
    "PageStream",
    "parse_list_response",
]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DEFAULT_MAX_PAGES = 100_000
_EMPTY_CURSOR_PAGES = 3


@dataclass(frozen=True)
class PageRequest:
    """One list request: ``start_index`` (index paging) or ``cursor`` (cursor paging) and ``count``."""

    count: int
    start_index: int | None = None
    cursor: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def params(self) -> dict[str, Any]:
        """Query parameters of the request."""
        params: dict[str, Any] = dict(self.extra)
        if self.cursor is not None:
            params["cursor"] = self.cursor
        if self.start_index is not None:
            params["startIndex"] = self.start_index
        params["count"] = self.count
        return params

    def to_json(self) -> dict[str, Any]:
        """For the resume journal."""
        return {
            "count": self.count,
            "start_index": self.start_index,
            "cursor": self.cursor,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageRequest:
        """Inverse of :meth:`to_json`."""
        extra = tuple((str(k), str(v)) for k, v in data.get("extra") or ())
        return cls(int(data["count"]), data.get("start_index"), data.get("cursor"), extra)


@dataclass
class Page:
    """One ListResponse page as received."""

    resource: str
    request: PageRequest
    resources: list[dict[str, Any]]
    total_results: int | None
    items_per_page: int | None
    start_index: int | None
    next_cursor: str | None
    url: str
    body: bytes = b""
    elapsed: float = 0.0
    number: int = 0
    replayed: bool = False


@dataclass
class Anomaly:
    """Something odd about a crawl; ``incomplete`` when records may be missing because of it."""

    kind: str
    detail: str
    incomplete: bool = False
    count: int = 1
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As a manifest anomaly entry."""
        return {
            "kind": self.kind,
            "detail": self.detail,
            "count": self.count,
            "affects_completeness": self.incomplete,
            "examples": self.examples,
        }


class AnomalyLog:
    """Anomalies aggregated by kind (count + first five examples)."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Anomaly] = {}

    def add(self, kind: str, detail: str, *, incomplete: bool = False, example: str | None = None) -> None:
        """Record one occurrence of ``kind`` (the first detail is kept)."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = Anomaly(kind, detail, incomplete, 0)
        found.count += 1
        found.incomplete = found.incomplete or incomplete
        if example is not None and len(found.examples) < 5:
            found.examples.append(example)

    def extend(self, other: AnomalyLog, prefix: str = "") -> None:
        """Merge ``other`` into this log (examples prefixed with ``prefix``)."""
        for anomaly in other:
            found = self._by_kind.get(anomaly.kind)
            if found is None:
                self._by_kind[anomaly.kind] = Anomaly(
                    anomaly.kind,
                    f"{prefix}{anomaly.detail}",
                    anomaly.incomplete,
                    anomaly.count,
                    [f"{prefix}{e}" for e in anomaly.examples],
                )
            else:
                found.count += anomaly.count
                found.incomplete = found.incomplete or anomaly.incomplete
                room = 5 - len(found.examples)
                found.examples.extend(f"{prefix}{e}" for e in anomaly.examples[:room])

    def __iter__(self) -> Iterator[Anomaly]:
        return iter(self._by_kind.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind

    @property
    def incomplete(self) -> bool:
        """Whether any anomaly means records may be missing."""
        return any(a.incomplete for a in self._by_kind.values())


def _int(value: Any, name: str, url: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ScimError(f"ListResponse {name} is a boolean", url=url)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ScimError(f"ListResponse {name} is not a whole number: {value!r}", url=url)


def parse_list_response(
    value: Any,
    *,
    resource: str,
    request: PageRequest,
    url: str,
    body: bytes = b"",
    elapsed: float = 0.0,
) -> Page:
    """Check a parsed body is a SCIM ListResponse and turn it into a :class:`Page`."""
    if not isinstance(value, dict):
        kind = "an empty body" if value is None else f"a JSON {type(value).__name__}"
        raise ScimError(f"expected a SCIM ListResponse, got {kind}", url=url)
    schemas = value.get("schemas")
    is_list = (isinstance(schemas, list) and LIST_RESPONSE in schemas) or "Resources" in value
    if not is_list and "totalResults" not in value:
        raise ScimError(
            "expected a SCIM ListResponse (no Resources, totalResults or ListResponse schema)", url=url
        )
    resources = value.get("Resources")
    if resources is None:
        resources = []
    if not isinstance(resources, list):
        raise ScimError(f"ListResponse Resources is a {type(resources).__name__}, not a list", url=url)
    next_cursor = value.get("nextCursor")
    return Page(
        resource=resource,
        request=request,
        resources=resources,
        total_results=_int(value.get("totalResults"), "totalResults", url),
        items_per_page=_int(value.get("itemsPerPage"), "itemsPerPage", url),
        start_index=_int(value.get("startIndex"), "startIndex", url),
        next_cursor=str(next_cursor) if next_cursor not in (None, "") else None,
        url=url,
        body=body,
        elapsed=elapsed,
    )


class _Paginator:
    """What index and cursor paging share: counters and the page-integrity checks."""

    method = ""

    def __init__(
        self, page_size: int, *, extra: dict[str, str] | None = None, max_pages: int | None = None
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.extra = tuple(sorted((extra or {}).items()))
        self.max_pages = max_pages or DEFAULT_MAX_PAGES
        self.anomalies = AnomalyLog()
        self.observations: dict[str, Any] = {}
        self.pages = 0
        self.items = 0
        self.total: int | None = None  # last totalResults reported
        self.max_total: int | None = None
        self.done = False
        self._fingerprints: dict[int, int] = {}
        self._previous_ids: set[Any] = set()

    @property
    def incomplete(self) -> bool:
        """Whether the crawl ended in a way that may have missed records."""
        return self.anomalies.incomplete

    def _past_end(self) -> bool:
        return False

    def _check(self, page: Page) -> bool:
        """Integrity checks shared by every method; False means drop the page and stop."""
        number = self.pages + 1
        if number > self.max_pages:
            self._stop("runaway_paging", f"stopped after {self.max_pages} pages (max_pages)", page)
            return False
        reported = page.total_results
        if reported is not None:
            if self.total is not None and reported != self.total:
                self.anomalies.add(
                    "total_results_changed",
                    "totalResults changed during the crawl (the directory changed while it was read)",
                    incomplete=self.method == "index" and reported < self.total,
                    example=f"page {number}: {self.total} -> {reported}",
                )
            self.total = reported
            self.max_total = reported if self.max_total is None else max(self.max_total, reported)
        ids = [r.get("id") if isinstance(r, dict) else None for r in page.resources]
        if ids:
            fingerprint = hash(tuple(map(str, ids)))
            earlier = self._fingerprints.get(fingerprint)
            if earlier is not None:
                if self._past_end():
                    self.observations["past_end"] = "repeats_earlier_page"
                    self.anomalies.add(
                        "past_end_repeats_page",
                        "a page requested past the reported end repeated an earlier page (ignored)",
                        example=f"page {number} = page {earlier} ({page.url})",
                    )
                    self.done = True
                else:
                    self._stop(
                        "page_repeated",
                        "a page repeated an earlier page; the crawl stopped instead of looping",
                        page,
                        example=f"page {number} = page {earlier}",
                        incomplete=self.max_total is None,
                    )
                return False
            self._fingerprints[fingerprint] = number
            overlap = sum(1 for i in ids if i in self._previous_ids)
            if overlap:
                self.anomalies.add(
                    "page_overlap",
                    "ids repeated from the previous page (offsets shifted; duplicates are dropped)",
                    example=f"page {number}: {overlap} id(s)",
                )
            self._previous_ids = set(ids)
        self.pages = number
        self.items += len(page.resources)
        page.number = number
        if self.max_total is not None and self.items > 2 * self.max_total + 2 * self.page_size:
            self._stop(
                "runaway_paging",
                f"received {self.items} items for totalResults {self.max_total}; stopped",
                page,
            )
        return True

    def _stop(
        self, kind: str, detail: str, page: Page, *, example: str | None = None, incomplete: bool = True
    ) -> None:
        self.anomalies.add(kind, detail, incomplete=incomplete, example=example or page.url)
        self.done = True

    def next_request(self) -> PageRequest | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def accept(self, page: Page) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class IndexPaginator(_Paginator):
    """1-based ``startIndex`` paging, advancing by the items received."""

    method = "index"

    def __init__(
        self,
        page_size: int,
        *,
        extra: dict[str, str] | None = None,
        max_pages: int | None = None,
        start_index: int = 1,
    ) -> None:
        super().__init__(page_size, extra=extra, max_pages=max_pages)
        self.next_start = start_index
        self.effective_page_size = page_size
        self._probing = False

    def _past_end(self) -> bool:
        return self._probing

    def next_request(self) -> PageRequest | None:
        """The next page to ask for, or None when the crawl is over."""
        if self.done:
            return None
        return PageRequest(self.effective_page_size, start_index=self.next_start, extra=self.extra)

    def accept(self, page: Page) -> bool:
        """Take the page asked for by :meth:`next_request`; True when its resources count."""
        if not self._check(page):
            return False
        received = len(page.resources)
        asked = page.request
        if (
            page.start_index is not None
            and asked.start_index is not None
            and page.start_index != asked.start_index
        ):
            self.anomalies.add(
                "start_index_mismatch",
                "the server answered another startIndex than asked",
                example=f"asked {asked.start_index}, got {page.start_index}",
            )
        if page.items_per_page is not None and page.items_per_page != received:
            self.anomalies.add(
                "items_per_page_mismatch",
                "itemsPerPage differs from the resources on the page (paging follows the resources)",
                example=f"page {page.number}: itemsPerPage {page.items_per_page}, {received} resources",
            )
        if received == 0:
            self.done = True
            if self._probing:
                self.observations["past_end"] = "empty"
            return True
        if self._probing:
            self.anomalies.add(
                "total_results_understated",
                "the server returned records past its totalResults",
                example=f"startIndex {asked.start_index}: {received} more",
            )
            self._probing = False
        more_expected = self.total is None or self.next_start + received - 1 < self.total
        if received < asked.count and more_expected:
            if self.pages == 1:
                self.effective_page_size = received
                self.observations["page_size_cap"] = received
            else:
                self.anomalies.add(
                    "short_page",
                    "a page held fewer items than asked before the end (the next page starts after it)",
                    example=f"startIndex {asked.start_index}: {received} of {asked.count}",
                )
        self.next_start += received
        if self.total is not None and self.next_start > self.total:
            self._probing = True  # one page past the end: empty confirms it
        return True

    def plannable(self) -> tuple[int, int] | None:
        """(page size, last index) once pages can be requested ahead, else None."""
        if self.pages == 0 or self._probing or self.done or self.total is None:
            return None
        return self.effective_page_size, self.total


class CursorPaginator(_Paginator):
    """RFC 9865 cursor paging: ``cursor=`` first, then each page's ``nextCursor``."""

    method = "cursor"

    def __init__(
        self,
        page_size: int,
        *,
        extra: dict[str, str] | None = None,
        max_pages: int | None = None,
        cursor: str = "",
    ) -> None:
        super().__init__(page_size, extra=extra, max_pages=max_pages)
        self.cursor: str | None = cursor
        self._seen: set[str] = set()
        self._empty_run = 0

    def next_request(self) -> PageRequest | None:
        """The next page to ask for, or None when the crawl is over."""
        if self.done or self.cursor is None:
            return None
        return PageRequest(self.page_size, cursor=self.cursor, extra=self.extra)

    def accept(self, page: Page) -> bool:
        """Take the page asked for by :meth:`next_request`; True when its resources count."""
        if not self._check(page):
            return False
        if page.resources:
            self._empty_run = 0
        else:
            self._empty_run += 1
        following = page.next_cursor
        if following is None:
            self.done = True
            self.cursor = None
            return True
        if following in self._seen or following == page.request.cursor:
            self._stop(
                "cursor_loop",
                "the server handed out a cursor it had already given; the crawl stopped",
                page,
                example=f"page {page.number}",
                incomplete=self.max_total is None,
            )
            self.cursor = None
            return True
        if self._empty_run >= _EMPTY_CURSOR_PAGES:
            self._stop(
                "runaway_paging", f"{self._empty_run} empty pages in a row, each with a nextCursor", page
            )
            self.cursor = None
            return True
        self._seen.add(following)
        self.cursor = following
        return True


Fetch = Callable[[PageRequest], Page]


class PageStream(Iterator[Page]):
    """Iterate the accepted pages of a crawl; ``replay`` pages are checked first, then live ones.

    With an :class:`IndexPaginator` and ``concurrency > 1``, pages are requested ahead
    (``concurrency`` at a time, in-order consumption, so memory stays bounded) once the
    first page told the effective page size and ``totalResults``; a short page leaves a
    gap that is asked for before moving on.
    """

    def __init__(
        self,
        paginator: IndexPaginator | CursorPaginator,
        fetch: Fetch,
        concurrency: int = 1,
        replay: Iterable[Page] = (),
    ) -> None:
        self.paginator = paginator
        self._fetch = fetch
        self._concurrency = max(1, concurrency)
        self._replay = iter(replay)
        self._replaying = True
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future[Page]] = {}
        self._frontier = 0

    @property
    def anomalies(self) -> AnomalyLog:
        return self.paginator.anomalies

    @property
    def incomplete(self) -> bool:
        return self.paginator.incomplete

    def __iter__(self) -> PageStream:
        return self

    def __next__(self) -> Page:
        while True:
            if self._replaying:
                replayed = next(self._replay, None)
                if replayed is not None:
                    replayed.replayed = True
                    if self.paginator.accept(replayed):
                        return replayed
                    continue
                self._replaying = False
            request = self.paginator.next_request()
            if request is None:
                self.close()
                raise StopIteration
            try:
                page = self._get(request)
            except BaseException:
                self.close()
                raise
            if self.paginator.accept(page):
                return page

    def _get(self, request: PageRequest) -> Page:
        paginator = self.paginator
        plan = paginator.plannable() if isinstance(paginator, IndexPaginator) else None
        if plan is None or self._concurrency == 1 or request.start_index is None:
            return self._fetch(request)
        size, last = plan
        start = request.start_index
        for stale in [s for s in self._pending if s < start]:
            self._pending.pop(stale).cancel()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="recon-page")
        self._frontier = max(self._frontier, start)
        while len(self._pending) < self._concurrency and self._frontier <= last:
            ahead = PageRequest(size, start_index=self._frontier, extra=request.extra)
            self._pending[self._frontier] = self._pool.submit(self._fetch, ahead)
            self._frontier += size
        future = self._pending.pop(start, None)
        if future is not None:
            return future.result()
        following = [s for s in self._pending if s > start]
        count = min([request.count, *(s - start for s in following)])
        return self._fetch(PageRequest(count, start_index=start, extra=request.extra))

    def close(self) -> None:
        """Cancel pages requested ahead and stop the worker threads."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
