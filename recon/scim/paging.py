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
reveal an understated ``totalResults``. :class:`recon.scim.stream.PageStream` drives a
paginator over HTTP. The page and request types live in :mod:`recon.scim.pages`, the
anomaly log in :mod:`recon.scim.anomalies`.
"""

from __future__ import annotations

from typing import Any

from recon.scim.anomalies import AnomalyLog
from recon.scim.pages import Page, PageRequest, resource_ids

__all__ = ["DEFAULT_MAX_PAGES", "CursorPaginator", "IndexPaginator"]

DEFAULT_MAX_PAGES = 100_000
_EMPTY_CURSOR_PAGES = 3


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
        ids = resource_ids(page.resources)
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
            current = set(ids)
            previous, self._previous_ids = self._previous_ids, current
            overlap = 0 if current.isdisjoint(previous) else sum(1 for i in ids if i in previous)
            if overlap:
                self.anomalies.add(
                    "page_overlap",
                    "ids repeated from the previous page (offsets shifted; duplicates are dropped)",
                    example=f"page {number}: {overlap} id(s)",
                )
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
