"""Column-wise normalisation of pages of plain SCIM Users (the fast path of live extraction).

:func:`users_batch` gives, as one Arrow record batch, exactly the rows that
:func:`recon.extract.normalize.normalise` gives for each resource of a page — but only for
a page where that function would neither reject, coerce nor note anything: every resource
a JSON object carrying the core User schema, a non-empty string ``id``, strings (or null)
where strings go, booleans (or null) where booleans go, objects (or null) where objects go,
emails that are objects, and timestamps in RFC 3339 form with an offset. Any other page
returns None and is normalised resource by resource, so anomalies, rejections and their
order stay exactly as before.

How: each resource is serialised once with orjson (that text is the ``raw`` column, as
``normalise`` makes it) and its content print is made from the parsed object itself
(:func:`recon.fingerprint.content_sha256_borrowing`, not by parsing the text again), and
Arrow reads the texts in C++, mostly without the GIL (:mod:`recon.extract.json_columns`).
:class:`UsersColumns` does the reading for several pages at once on a worker thread while the
caller fetches and parses the next pages. The equality with ``normalise`` is tested on
generated pages.
"""

from __future__ import annotations

from array import array
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import orjson
import pyarrow as pa

from recon.extract.json_columns import lines_of, page_rows
from recon.extract.normalize import USER_SCHEMA
from recon.fingerprint import content_sha256_borrowing

__all__ = ["Done", "NotPlain", "Plain", "UsersColumns", "is_user_object", "plain_texts", "users_batch"]

_IN_FLIGHT = 2  # groups of pages being made into columns, at most (the caller waits for the oldest)
_MAX_TEXT = 2**31 - 1  # the offsets are int32


class NotPlain(Exception):
    """The page needs ``normalise``, resource by resource."""


# each resource's text (``raw``) and content print (None: to be made from the texts)
Plain = tuple[list[bytes], list[bytes | None] | None]


def users_batch(resources: list[Any]) -> pa.RecordBatch | None:
    """The ``users`` rows of a page of plain Users (in order), or None when any needs ``normalise``."""
    try:
        plain = plain_texts(resources)
    except NotPlain:
        return None
    return _rows([plain])[0]


def is_user_object(resource: Any) -> bool:
    """True for a JSON object whose ``schemas`` is a list holding the core User schema."""
    if type(resource) is not dict:
        return False
    schemas = resource.get("schemas")
    return type(schemas) is list and USER_SCHEMA in schemas


def plain_texts(resources: list[Any]) -> Plain:
    """Each resource's JSON text (``raw``) and content print, for a page of objects with the core
    User schema (each object is left as it was; no other thread may read them meanwhile).

    Raises :class:`NotPlain` for any other page (or an empty one).
    """
    if not resources or not all(map(is_user_object, resources)):
        raise NotPlain
    try:
        raws = list(map(orjson.dumps, resources))
    except orjson.JSONEncodeError:
        raise NotPlain from None
    return raws, content_sha256_borrowing(resources, "User")


T = TypeVar("T")
Done = list[tuple[T, list[bytes], pa.RecordBatch | None]]
_Group = list[tuple[T, Plain]]


class UsersColumns(Generic[T]):
    """:func:`users_batch` for a stream of pages, several pages at a time on a worker thread.

    :meth:`add` takes a page's texts and prints (:func:`plain_texts`: Python, holding the GIL) with
    a tag of the caller's; every ``pages`` pages go to the worker together, where Arrow reads
    the JSON and builds the columns mostly without the GIL, in few large calls (so the
    caller's thread, parsing the next pages, is seldom interrupted). :meth:`add` and
    :meth:`drain` return the pages finished so far, in order, as (tag, texts, rows or None).
    """

    def __init__(self, pages: int = 4) -> None:
        self._pages = pages
        self._queued: _Group[T] = []
        self._sent: deque[tuple[_Group[T], Future[list[pa.RecordBatch | None]]]] = deque()
        self._pool: ThreadPoolExecutor | None = None

    def add(self, tag: T, plain: Plain) -> Done[T]:
        """Queue a page; the pages finished meanwhile (in order)."""
        self._queued.append((tag, plain))
        done = self._finished()
        if len(self._queued) < self._pages:
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-users")
        group, self._queued = self._queued, []
        self._sent.append((group, self._pool.submit(_rows, [plain for _, plain in group])))
        while len(self._sent) > _IN_FLIGHT:
            done += self._collect()
        return done

    def drain(self) -> Done[T]:
        """Every page added, finished (in order)."""
        done: Done[T] = []
        while self._sent:
            done += self._collect()
        group, self._queued = self._queued, []
        if group:
            rows = _rows([plain for _, plain in group])
            done += [(tag, raws, batch) for (tag, (raws, _)), batch in zip(group, rows, strict=True)]
        return done

    def _finished(self) -> Done[T]:
        done: Done[T] = []
        while self._sent and self._sent[0][1].done():
            done += self._collect()
        return done

    def _collect(self) -> Done[T]:
        group, rows = self._sent.popleft()
        return [(tag, raws, batch) for (tag, (raws, _)), batch in zip(group, rows.result(), strict=True)]

    def close(self) -> None:
        """Drop what is queued and stop the worker (a batch in progress finishes on its own)."""
        self._queued, self._sent = [], deque()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _rows(pages: list[Plain]) -> list[pa.RecordBatch | None]:
    """Each page's rows (None for one that needs ``normalise``): all pages in one read if they can."""
    text, offsets = lines_of([raw for raws, _ in pages for raw in raws])
    if offsets[-1] > _MAX_TEXT:
        return [None] if len(pages) == 1 else [_rows([page])[0] for page in pages]
    prints = None
    if all(page_prints is not None for _, page_prints in pages):
        prints = pa.array([p for _, page_prints in pages for p in page_prints or ()], pa.binary())
    counts = [len(raws) for raws, _ in pages]
    return page_rows(pa.py_buffer(text), pa.py_buffer(array("i", offsets)), counts, prints)
