"""Driving a paginator over HTTP: :class:`PageStream` yields the accepted pages of one crawl.

Pages read earlier (a resumed extract) are replayed through the paginator's checks first,
then live pages are fetched. Two ways to overlap the waiting for the server:

- ``concurrency > 1`` with index paging: pages are requested ahead, ``concurrency`` at a
  time, once the first page told the effective page size and ``totalResults``;
- ``send``/``read`` (one page ahead, any paging, when ``concurrency`` is 1): as soon as a
  page is accepted, the paginator's next request is sent on a worker thread, and parsed
  when the caller asks for it. The requests are exactly those of a sequential crawl, in the
  same order; only their timing changes.

With ``send``/``read``, worker threads do the HTTP exchanges only (they hold the GIL
little) and the caller's thread parses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from recon.scim.anomalies import AnomalyLog
from recon.scim.pages import Page, PageRequest
from recon.scim.paging import CursorPaginator, IndexPaginator

__all__ = ["Fetch", "PageStream", "Read", "Send"]

Fetch = Callable[[PageRequest], Page]
Send = Callable[[PageRequest], Any]
Read = Callable[[PageRequest, Any], Page]


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
        *,
        send: Send | None = None,
        read: Read | None = None,
    ) -> None:
        self.paginator = paginator
        self._fetch = fetch
        self._concurrency = max(1, concurrency)
        self._replay = iter(replay)
        self._replaying = True
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, tuple[PageRequest, Future[Any]]] = {}
        self._frontier = 0
        self._split: tuple[Send, Read] | None = None
        if send is not None and read is not None:
            self._split = (send, read)
        self._ahead: tuple[PageRequest, Future[Any]] | None = None
        self._ahead_pool: ThreadPoolExecutor | None = None

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
                self._send_next()
                return page

    def _send_next(self) -> None:
        """Send the paginator's next request now, to read it on the next ``__next__``."""
        if self._split is None or self._concurrency > 1:
            return
        request = self.paginator.next_request()
        if request is None:
            return
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-page-ahead")
        self._ahead = (request, self._ahead_pool.submit(self._split[0], request))

    def _get(self, request: PageRequest) -> Page:
        sent_ahead, self._ahead = self._ahead, None
        if sent_ahead is not None and sent_ahead[0] == request and self._split is not None:
            return self._split[1](request, sent_ahead[1].result())
        paginator = self.paginator
        plan = paginator.plannable() if isinstance(paginator, IndexPaginator) else None
        if plan is None or self._concurrency == 1 or request.start_index is None:
            return self._fetch(request)
        size, last = plan
        start = request.start_index
        for stale in [s for s in self._pending if s < start]:
            self._pending.pop(stale)[1].cancel()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="recon-page")
        # with send/read, the workers only do the HTTP exchanges; the pages are parsed here
        work: Callable[[PageRequest], Any] = self._split[0] if self._split is not None else self._fetch
        self._frontier = max(self._frontier, start)
        while len(self._pending) < self._concurrency and self._frontier <= last:
            ahead = PageRequest(size, start_index=self._frontier, extra=request.extra)
            self._pending[self._frontier] = (ahead, self._pool.submit(work, ahead))
            self._frontier += size
        pending = self._pending.pop(start, None)
        if pending is not None:
            asked, future = pending
            return self._split[1](asked, future.result()) if self._split is not None else future.result()
        following = [s for s in self._pending if s > start]
        count = min([request.count, *(s - start for s in following)])
        return self._fetch(PageRequest(count, start_index=start, extra=request.extra))

    def close(self, *, wait: bool = True) -> None:
        """Cancel pages requested ahead and stop the worker threads.

        ``wait=False`` returns without waiting for a request in flight (after an interrupt).
        """
        for _, future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        self._ahead = None
        if self._ahead_pool is not None:
            self._ahead_pool.shutdown(wait=wait, cancel_futures=True)
            self._ahead_pool = None
