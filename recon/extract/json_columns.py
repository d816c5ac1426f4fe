"""The ``users`` rows of pages of plain SCIM Users, made by Arrow from the users' JSON texts.

The input is the users' texts (``raw``, as :func:`orjson.dumps` writes them), each followed by
a newline, in one buffer, with the offset where each text starts; the pages are consecutive
runs of texts. Arrow's JSON reader reads the texts against the attributes' types (refusing
any value of another JSON type) and the columns, ``raw`` included, are built in C++ from
that buffer, mostly without the GIL and without a Python object per user.

A page whose rows ``normalise`` would not give unchanged (see :mod:`recon.extract.columns`)
gets None. Timestamps are converted by Arrow only when they match a strict RFC 3339 pattern
on which Arrow and ``datetime.fromisoformat`` agree; otherwise by ``fromisoformat`` itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import accumulate
from operator import attrgetter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from recon.extract.normalize import ENTERPRISE_USER
from recon.fingerprint import content_sha256_of_text
from recon.schemas import USERS

__all__ = ["Lines", "lines_of", "page_rows"]

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

Lines = tuple[bytes, list[int]]  # the texts, each followed by a newline; where each starts (and the end)


class _NotPlain(Exception):
    """The page needs ``normalise``."""


def lines_of(raws: list[bytes]) -> Lines:
    """The texts one per line, and the offset of each (one more: the end)."""
    return b"\n".join([*raws, b""]), list(accumulate(map((1).__add__, map(len, raws)), initial=0))


def page_rows(
    text: pa.Buffer, offsets: pa.Buffer, counts: list[int], prints: list[bytes | None] | None = None
) -> list[pa.RecordBatch | None]:
    """Each page's rows of the ``users`` table, or None for a page that needs ``normalise``.

    ``offsets`` holds int32 offsets into ``text`` (as :func:`lines_of` gives them, one more than
    the texts); ``counts`` the texts of each page, in order. All pages are read in one go if
    they can be; otherwise each alone, so each page gets the answer it would get alone.
    ``prints``, when the caller has them: each text's content print
    (:func:`recon.fingerprint.content_sha256` of the object the text is), saving a parse each.
    """
    lines = pa.BinaryArray.from_buffers(pa.binary(), sum(counts), [None, offsets, text])
    return _rows(text, lines, counts, prints)


def _rows(
    text: pa.Buffer, lines: pa.BinaryArray, counts: list[int], prints: list[bytes | None] | None
) -> list[pa.RecordBatch | None]:
    try:
        rows = _columns(_read(text, lines), lines, prints)
    except (_NotPlain, pa.ArrowException):
        if len(counts) == 1:
            return [None]
        done: list[pa.RecordBatch | None] = []
        for start, count in zip(accumulate(counts, initial=0), counts, strict=False):
            some = None if prints is None else prints[start : start + count]
            done += _rows(text, lines.slice(start, count), [count], some)
        return done
    return [
        rows.slice(start, count) for start, count in zip(accumulate(counts, initial=0), counts, strict=False)
    ]


def _read(text: pa.Buffer, lines: pa.BinaryArray) -> pa.Table:
    offsets = pa.Array.from_buffers(
        pa.int32(), len(lines) + 1, [None, lines.buffers()[1]], offset=lines.offset
    )
    start, end = offsets[0].as_py(), offsets[len(lines)].as_py()
    read = pa_json.ReadOptions(use_threads=False, block_size=end - start + 1)
    return pa_json.read_json(
        pa.BufferReader(text.slice(start, end - start)), read_options=read, parse_options=_PARSE
    )


def _columns(table: pa.Table, lines: pa.BinaryArray, prints: list[bytes | None] | None) -> pa.RecordBatch:
    if table.num_rows != len(lines) or len(lines) == 0:
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
        pc.binary_slice(lines, 0, -1).view(_STRING),  # each text without its newline: ``raw``
        _prints(lines) if prints is None else pa.array(prints, pa.binary()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=USERS)


def _prints(lines: pa.BinaryArray) -> pa.Array:
    """Each user's content print, from its text (the one parse in Python on this path)."""
    return pa.array([content_sha256_of_text(line, "User") for line in lines.to_pylist()], pa.binary())


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
