"""Column-wise normalisation of a page of plain SCIM Users (the fast path of live extraction).

:func:`users_batch` gives, as one Arrow record batch, exactly the rows that
:func:`recon.extract.normalize.normalise` gives for each resource of a page — but only for
a page where that function would neither reject, coerce nor note anything: every resource
a JSON object carrying the core User schema, a non-empty string ``id``, strings (or null)
where strings go, booleans (or null) where booleans go, objects (or null) where objects go,
emails that are objects, and timestamps in RFC 3339 form with an offset. Any other page
returns None and is normalised resource by resource, so anomalies, rejections and their
order stay exactly as before.

How: each resource is serialised once with orjson (that text is the ``raw`` column, as
``normalise`` makes it), and the texts, one per line, are read by Arrow's JSON reader
against the attributes' types: it refuses any value of another JSON type, and it runs in
C++ without holding the GIL. :class:`UsersColumns` does that for several pages at once on
a worker thread while the caller fetches and parses the next pages; a batch that fails is
done again page by page, so each page gets the answer it would get alone.
Timestamps are converted by Arrow only when they match a strict RFC 3339 pattern on which
Arrow and ``datetime.fromisoformat`` agree; otherwise by ``fromisoformat`` itself. The
equality with ``normalise`` is tested on generated pages.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import attrgetter
from typing import Any, Generic, TypeVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from recon.extract.normalize import ENTERPRISE_USER, USER_SCHEMA
from recon.schemas import USERS

__all__ = ["Done", "NotPlain", "UsersColumns", "plain_texts", "users_batch"]

_STRING = pa.string()
_TS = USERS.field("created").type
_EMAILS = USERS.field("emails").type
_ATTRIBUTES = pa.schema(
    [
        ("id", _STRING),
        ("externalId", _STRING),
        ("userName", _STRING),
        ("active", pa.bool_()),
        ("displayName", _STRING),
        ("name", pa.struct([("givenName", _STRING), ("familyName", _STRING)])),
        ("emails", _EMAILS),
        (
            ENTERPRISE_USER,
            pa.struct(
                [
                    ("employeeNumber", _STRING),
                    ("department", _STRING),
                    ("manager", pa.struct([("value", _STRING)])),
                ]
            ),
        ),
        ("title", _STRING),
        ("userType", _STRING),
        ("meta", pa.struct([("created", _STRING), ("lastModified", _STRING), ("version", _STRING)])),
    ]
)
_PARSE = pa_json.ParseOptions(explicit_schema=_ATTRIBUTES, unexpected_field_behavior="ignore")
# Arrow's ISO 8601 parser and datetime.fromisoformat give the same instant (or both refuse)
# for exactly this form; the years next to the ends of the range are left to fromisoformat.
_RFC3339 = (
    r"^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)
_EARLIEST = pa.scalar(datetime(1, 1, 2, tzinfo=UTC), _TS)
_LATEST = pa.scalar(datetime(9999, 12, 30, tzinfo=UTC), _TS)
_SECOND = timedelta(seconds=1)


class _NotPlain(Exception):
    """The page needs the per-resource path."""


def users_batch(resources: list[Any]) -> pa.RecordBatch | None:
    """The ``users`` rows of a page of plain Users (in order), or None when any needs ``normalise``."""
    try:
        raws = plain_texts(resources)
    except NotPlain:
        return None
    return _rows([raws])[0]


class NotPlain(Exception):
    """The page needs ``normalise``, resource by resource."""


def plain_texts(resources: list[Any]) -> list[bytes]:
    """Each resource's JSON text (``raw``), for a page of objects with the core User schema.

    Raises :class:`NotPlain` for any other page (or an empty one).
    """
    if not resources:
        raise NotPlain
    try:
        return _plain_texts(resources)
    except (_NotPlain, orjson.JSONEncodeError):
        raise NotPlain from None


T = TypeVar("T")
Done = list[tuple[T, list[bytes], pa.RecordBatch | None]]


class UsersColumns(Generic[T]):
    """:func:`users_batch` for a stream of pages, several pages at a time on a worker thread.

    :meth:`add` takes a page's texts (from :func:`plain_texts`: Python, holding the GIL) with
    a tag of the caller's; every ``pages`` pages go to the worker together, where Arrow reads
    the JSON and builds the columns mostly without the GIL, in few large calls (so the
    caller's thread, parsing the next pages, is seldom interrupted). :meth:`add` and
    :meth:`drain` return the pages finished so far, in order, as (tag, texts, rows or None).
    """

    def __init__(self, pages: int = 4) -> None:
        self._pages = pages
        self._queued: list[tuple[T, list[bytes]]] = []
        self._sent: tuple[list[tuple[T, list[bytes]]], Future[list[pa.RecordBatch | None]]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def add(self, tag: T, raws: list[bytes]) -> Done[T]:
        """Queue a page; the pages finished meanwhile (in order)."""
        self._queued.append((tag, raws))
        if len(self._queued) < self._pages:
            return []
        done = self._collect()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-users")
        queued, self._queued = self._queued, []
        self._sent = (queued, self._pool.submit(_rows, [raws for _, raws in queued]))
        return done

    def drain(self) -> Done[T]:
        """Every page added, finished (in order)."""
        done = self._collect()
        queued, self._queued = self._queued, []
        if queued:
            rows = _rows([raws for _, raws in queued])
            done += [(tag, raws, batch) for (tag, raws), batch in zip(queued, rows, strict=True)]
        return done

    def _collect(self) -> Done[T]:
        if self._sent is None:
            return []
        (sent, rows), self._sent = self._sent, None
        return [(tag, raws, batch) for (tag, raws), batch in zip(sent, rows.result(), strict=True)]

    def close(self) -> None:
        """Drop what is queued and stop the worker (a batch in progress finishes on its own)."""
        self._queued, self._sent = [], None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _plain_texts(rows: list[Any]) -> list[bytes]:
    """Each resource's JSON text, once the page holds only objects with the core User schema."""
    if set(map(type, rows)) != {dict}:
        raise _NotPlain
    schemas: list[Any] = list(map(dict.get, rows, repeat("schemas")))
    if set(map(type, schemas)) != {list} or not all(map(list.__contains__, schemas, repeat(USER_SCHEMA))):
        raise _NotPlain
    return list(map(orjson.dumps, rows))


def _rows(pages: list[list[bytes]]) -> list[pa.RecordBatch | None]:
    """Each page's rows (None for one that needs ``normalise``): all pages in one read if they can."""
    raws = [raw for page in pages for raw in page]
    try:
        rows = _columns(_read(raws), raws)
    except (_NotPlain, pa.ArrowException):
        if len(pages) == 1:
            return [None]
        return [_rows([page])[0] for page in pages]
    done: list[pa.RecordBatch | None] = []
    offset = 0
    for page in pages:
        done.append(rows.slice(offset, len(page)))
        offset += len(page)
    return done


def _read(raws: list[bytes]) -> pa.Table:
    text = b"\n".join(raws)
    read = pa_json.ReadOptions(use_threads=False, block_size=len(text) + 1)
    return pa_json.read_json(pa.BufferReader(text), read_options=read, parse_options=_PARSE)


def _columns(table: pa.Table, raws: list[bytes]) -> pa.RecordBatch:
    if table.num_rows != len(raws):
        raise _NotPlain
    got = {name: table.column(name).combine_chunks() for name in _ATTRIBUTES.names}
    ids = got["id"]
    if ids.null_count or pc.min(pc.binary_length(ids)).as_py() == 0:
        raise _NotPlain
    given_name, family_name = got["name"].flatten()
    employee_number, department, manager = got[ENTERPRISE_USER].flatten()
    (manager_id,) = manager.flatten()
    created, last_modified, version = got["meta"].flatten()
    emails, primary_email = _emails(got["emails"])
    columns = [
        ids,
        got["externalId"],
        got["userName"],
        got["active"],
        got["displayName"],
        given_name,
        family_name,
        emails,
        primary_email,
        employee_number,
        department,
        got["title"],
        manager_id,
        got["userType"],
        _timestamps(created),
        _timestamps(last_modified),
        version,
        pa.array(raws, _STRING),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=USERS)


def _emails(emails: pa.ListArray) -> tuple[pa.Array, pa.Array]:
    """``emails`` (absent = empty list) and each user's primary email: the primary one, else the
    first of type work (any case), else the first."""
    items = pc.list_flatten(emails)
    if items.null_count:
        raise _NotPlain  # an email that is not an object
    if emails.null_count:
        emails = pc.fill_null(emails, pa.scalar([], _EMAILS))
    if len(items) == 0:
        return emails, pa.nulls(len(emails), _STRING)
    value, kind, primary = items.flatten()
    if not pc.all(pc.string_is_ascii(kind.fill_null(""))).as_py():
        raise _NotPlain  # str.lower() and Arrow's lower case may differ beyond ASCII
    work = pc.equal(pc.ascii_lower(kind), "work").fill_null(False)
    rank = pc.if_else(primary.fill_null(False), 0, pc.if_else(work, 1, 2))
    owner = pc.list_parent_indices(emails)
    # a stable sort by (user, rank): each user's first email is the one to keep
    order = pc.sort_indices(
        pa.table({"owner": owner, "rank": rank}), sort_keys=[("owner", "ascending"), ("rank", "ascending")]
    )
    owners = pc.take(owner, order)
    first = pa.concat_arrays(
        [pa.array([True]), pc.not_equal(owners.slice(1), owners.slice(0, len(owners) - 1))]
    )
    picked = pc.take(value, pc.filter(order, first))
    has_email = pc.greater(pc.list_value_length(emails), 0)
    return emails, pc.replace_with_mask(pa.nulls(len(emails), _STRING), has_email, picked)


def _timestamps(values: pa.Array) -> pa.Array:
    """``parse_scim_datetime`` over a column of timestamp texts ("" and null give null)."""
    present = pc.if_else(pc.equal(values, ""), pa.scalar(None, _STRING), values)
    if present.null_count == len(present):
        return pa.nulls(len(present), _TS)
    if pc.all(pc.match_substring_regex(present, _RFC3339)).as_py():
        try:
            converted = pc.cast(present, _TS)
        except pa.ArrowInvalid:
            raise _NotPlain from None  # e.g. 30 February: fromisoformat rejects it too
        low, high = pc.min_max(converted).values()
        if pc.greater_equal(low, _EARLIEST).as_py() and pc.less_equal(high, _LATEST).as_py():
            return converted
    return _timestamps_in_python(present.to_pylist())


def _timestamps_in_python(values: list[str | None]) -> pa.Array:
    present = [v for v in values if v is not None]
    try:
        parsed = list(map(datetime.fromisoformat, map(str.strip, present)))
    except ValueError:
        raise _NotPlain from None
    for zone in set(map(attrgetter("tzinfo"), parsed)):
        offset = zone.utcoffset(None) if zone is not None else None
        if offset is None or offset % _SECOND:  # naive (an anomaly), or an offset Arrow would round
            raise _NotPlain
    if {1, 9999} & set(map(attrgetter("year"), parsed)):
        raise _NotPlain  # astimezone(UTC) may overflow there: normalise decides
    found = iter(parsed)
    # Arrow turns an aware datetime into its UTC instant, as astimezone(UTC) does
    return pa.array([None if v is None else next(found) for v in values], _TS)
