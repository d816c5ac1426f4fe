"""Import SCIM data from files into an export partition (``recon import``).

Accepted, plain or ``.gz``:
- a ListResponse JSON object (one page),
- a JSON array of ListResponse pages,
- a JSON array of resources,
- NDJSON: one resource (or one ListResponse page) per line.

Large files stream: NDJSON line by line, JSON documents through ijson, so memory stays
flat. Invalid JSON stops the import with ``file:line`` (or a byte offset); resources
that cannot be normalised are collected and either stop the import (listing the first
20) or, with ``lenient``, are written to ``rejects.parquet`` beside the export, whose
status is then ``partial``. Nothing is published unless the import succeeds.

Plain SCIM Users are made into columns by Arrow, a few pages at a time on a worker thread
(:mod:`recon.extract.columns`); every other resource goes through ``normalise``. The result
is byte for byte that of normalising each resource (``FAST_PATH = False``).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from recon.engine import open_session
from recon.errors import ImportRejected, InputError, UsageError
from recon.extract.columns import Done, UsersColumns, is_user_object
from recon.extract.normalize import Rejected, normalise, parse_scim_datetime
from recon.extract.writer import ExportWriter
from recon.limits import DepthScanner, LimitExceeded, check_depth, limits, size_text
from recon.scim.filter import parse as parse_filter
from recon.store import ExportKind, Manifest, Store, check_name

__all__ = ["ImportResult", "import_files", "iter_resources", "since_filter"]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
REJECTS = pa.schema(
    [
        ("file", pa.string()),
        ("position", pa.string()),
        ("id", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)
_EXACT_POSITION_LIMIT = 8 * 1024 * 1024  # below this size a JSON error is re-located to line:column
FAST_PATH = True  # plain Users made into columns by Arrow (False: every resource through normalise)
FAST_PAGE = 1000  # plain Users per page given to the columns


@dataclass(frozen=True)
class Located:
    """A resource read from a file, with where it was (``line 12`` or ``resource #3``)."""

    file: str
    position: str
    resource: Any
    raw: str | None


@dataclass(frozen=True)
class ImportResult:
    """What ``recon import`` did."""

    export_path: Path
    manifest: Manifest
    rejects_path: Path | None


def since_filter(since: str) -> tuple[str, str]:
    """The filter ``meta.lastModified gt "TS"`` for ``--since`` and the watermark in UTC ISO form."""
    anomalies: list[tuple[str, str]] = []
    try:
        parsed = parse_scim_datetime(since, "--since", anomalies)
    except Rejected as exc:
        raise UsageError(f"--since {since!r} is not a timestamp (use e.g. 2026-01-31T00:00:00Z)") from exc
    assert parsed is not None
    watermark = parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f'meta.lastModified gt "{watermark}"', watermark


def _open(path: Path) -> IO[bytes]:
    try:
        raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a folder, not a file") from exc
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if magic == b"\x1f\x8b":
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return raw


def _first_byte(handle: IO[bytes]) -> bytes:
    """First non-whitespace byte (handle is rewound)."""
    chunk = handle.read(4096)
    while chunk and not chunk.strip():
        chunk = handle.read(4096)
    stripped = chunk.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    handle.seek(0)
    return stripped[:1]


def _is_ndjson(handle: IO[bytes], limit: int) -> bool:
    """True when the first line is a whole JSON object on its own (then lines are records)."""
    line = handle.readline(limit + 1)
    handle.seek(0)
    if len(line) > limit:
        return False  # one long line: a JSON document on one line, read as such
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return _loads(line) is not _INVALID and line.rstrip().endswith(b"}") and line.count(b"\n") <= 1
    return isinstance(value, dict)


_INVALID = object()


def _loads(text: bytes) -> Any:
    """Parse JSON that orjson refuses only for a lone surrogate escape (Python's parser takes it).

    Such a value cannot be stored as UTF-8: the resource is then rejected by name, not dropped.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _INVALID


def iter_resources(path: Path) -> Iterator[Located]:
    """Yield every resource in ``path`` with its position; raises :class:`InputError` on bad JSON."""
    name = str(path)
    for position, resource, raw in _iter_items(path):
        yield Located(name, position, resource, None if raw is None else raw.decode("utf-8"))


# (position, resource, raw): raw is an NDJSON line's own text (what ``normalise`` keeps), else None
_Item = tuple[str, Any, bytes | None]


def _iter_items(path: Path, notes: list[tuple[str, str]] | None = None) -> Iterator[_Item]:
    """Every resource of ``path``; an input that holds none is an error naming what it holds.

    ``notes`` receives (anomaly kind, detail) for what was read in a tolerated way (a
    ``resources`` key spelled in another case: SCIM attribute names are case-insensitive).
    """
    name = str(path)
    bounds = limits()
    notes = notes if notes is not None else []
    try:
        with _open(path) as handle:
            first = _first_byte(handle)
            if first == b"":
                raise InputError(f"{name}: empty file, expected SCIM JSON or NDJSON")
            if first == b"{" and _is_ndjson(handle, bounds.max_resource_bytes):
                yield from _iter_ndjson(name, handle, notes)
            elif first in (b"{", b"["):
                yield from _iter_json(name, path, handle, first, notes)
            else:
                raise InputError(
                    f"{name}:1: expected a JSON object or array, found {first.decode(errors='replace')!r}"
                )
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{name}: the gzip data is truncated or damaged ({exc or type(exc).__name__})"
        ) from exc


def _too_deep(line: bytes, limit: int) -> bool:
    return line.count(b"[") + line.count(b"{") > limit


def _iter_ndjson(name: str, handle: IO[bytes], notes: list[tuple[str, str]]) -> Iterator[_Item]:
    bounds = limits()
    found = 0
    said_empty = False
    number = 0
    while True:
        line = handle.readline(bounds.max_resource_bytes + 1)
        if not line:
            break
        number += 1
        if len(line) > bounds.max_resource_bytes and not line.endswith(b"\n"):
            preview = line[:_PREVIEW]
            while line and not line.endswith(b"\n"):  # skip the rest of the line, a buffer at a time
                line = handle.readline(_SKIP)
            found += 1
            reason = (
                f"line longer than {size_text(bounds.max_resource_bytes)}; "
                "the limit is RECON_MAX_RESOURCE_BYTES"
            )
            yield f"line {number}", Refused(reason, preview), None
            continue
        if not line.strip():
            continue
        if _too_deep(line, bounds.max_json_depth):
            try:
                check_depth(line, bounds.max_json_depth, f"{name}:{number}")
            except LimitExceeded:
                found += 1
                depth = bounds.max_json_depth
                reason = f"JSON nested deeper than {depth} levels; the limit is RECON_MAX_JSON_DEPTH"
                yield f"line {number}", Refused(reason, line[:_PREVIEW]), None
                continue
        raw: bytes | None
        try:
            value = orjson.loads(line)
            raw = _line_text(line)
        except orjson.JSONDecodeError as exc:
            value, raw = _loads(line), None  # normalise then rejects it by name
            if value is _INVALID:
                raise InputError(f"{name}:{number}: invalid JSON on this NDJSON line ({exc})") from exc
        key = _resources_key(value) if isinstance(value, dict) else None
        if isinstance(value, dict) and (key is not None or LIST_RESPONSE in _schemas(value)):
            resources = _page_resources(name, f"line {number}", value, key, notes)
            said_empty = said_empty or (not resources and value.get("totalResults") == 0)
            for index, item in enumerate(resources, start=1):
                found += 1
                yield f"line {number} resource #{index}", item, None
        else:
            found += 1
            yield f"line {number}", value, raw
    if not found and not said_empty:
        raise InputError(
            f"{name}: no resources in {number} line(s) (ListResponse pages without Resources); "
            'an empty export is a ListResponse with "totalResults": 0'
        )


_PREVIEW = 4096  # bytes of a refused line kept in rejects.parquet
_SKIP = 1 << 20


@dataclass(frozen=True)
class Refused:
    """A record refused before parsing (over a limit): rejected by name, never dropped."""

    reason: str
    preview: bytes


def _schemas(value: dict[str, Any]) -> list[Any]:
    schemas = value.get("schemas")
    return schemas if isinstance(schemas, list) else []


def _resources_key(value: dict[str, Any]) -> str | None:
    """The key holding a ListResponse's resources: ``Resources`` in any case (RFC 7643 §2.1)."""
    if "Resources" in value:
        return "Resources"
    return next((key for key in value if isinstance(key, str) and key.lower() == "resources"), None)


def _line_text(line: bytes) -> bytes:
    """The line without surrounding whitespace, as ``line.decode().strip()`` gives it (UTF-8)."""
    text = line.strip()
    if text[:1] == b"{" and text[-1:] == b"}":  # an object: only JSON whitespace was around it
        return text
    return line.decode("utf-8", errors="surrogatepass").strip().encode("utf-8", errors="surrogatepass")


def _page_resources(
    name: str, where: str, page: dict[str, Any], key: str | None, notes: list[tuple[str, str]]
) -> list[Any]:
    if key is None:
        return []
    if key != "Resources":
        notes.append(
            ("resources_key_case", f'{where}: the resources were under "{key}", read as "Resources"')
        )
    resources = page.get(key, [])
    if resources is None:
        return []
    if not isinstance(resources, list):
        raise InputError(f"{name}: {where}: Resources is not a list")
    return resources


class _Scanned:
    """A binary file read through a :class:`~recon.limits.DepthScanner` (for ijson)."""

    def __init__(self, handle: IO[bytes], scanner: DepthScanner) -> None:
        self._handle = handle
        self.scanner = scanner

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.scanner.feed(data)
        return data


_IJSON_BUFFER = 1 << 20


def _iter_json(
    name: str, path: Path, handle: IO[bytes], first: bytes, notes: list[tuple[str, str]]
) -> Iterator[_Item]:
    bounds = limits()
    scanner = DepthScanner(bounds.max_json_depth, name)
    scanner.item_limit = bounds.max_resource_bytes
    scanned = _Scanned(handle, scanner)
    count = 0
    try:
        if first == b"{":
            scanner.item_depth = 3  # { "Resources": [ {one resource} ] }
            items = ijson.items(scanned, "Resources.item", use_float=True, buf_size=_IJSON_BUFFER)
            for index, item in enumerate(items, start=1):
                yield f"resource #{index}", item, None
                count = index
            if not count:
                yield from _object_without_resources(name, path, notes)
            return
        scanner.item_depth = 2  # [ {a resource or a whole page} ]: ijson builds each item whole
        scanner.item_what = "one array item (a resource or a page)"
        said_empty = False
        items = ijson.items(scanned, "item", use_float=True, buf_size=_IJSON_BUFFER)
        for item_index, item in enumerate(items, start=1):
            key = _resources_key(item) if isinstance(item, dict) else None
            if isinstance(item, dict) and (key is not None or LIST_RESPONSE in _schemas(item)):
                page = _page_resources(name, f"page {item_index}", item, key, notes)
                said_empty = said_empty or (not page and item.get("totalResults") == 0)
                for resource in page:
                    count += 1
                    yield f"page {item_index} resource #{count}", resource, None
            else:
                count += 1
                yield f"resource #{count}", item, None
        if not count and not said_empty:
            raise InputError(
                f"{name}: found an empty JSON array (or pages without Resources): no resources; "
                'an empty export is a ListResponse with "totalResults": 0'
            )
    except ijson.JSONError as exc:
        raise InputError(_locate_json_error(name, path, handle, exc)) from exc


def _object_without_resources(name: str, path: Path, notes: list[tuple[str, str]]) -> Iterator[_Item]:
    """A JSON object whose ``Resources`` gave nothing: a key in another case, one resource, or an error."""
    bounds = limits()
    keys: list[str] = []
    key: str | None = None
    total: Any = None
    with _open(path) as handle:
        for prefix, event, value in ijson.parse(handle, buf_size=_IJSON_BUFFER):
            if prefix == "" and event == "map_key":
                if len(keys) < 20:
                    keys.append(value)
                if value.lower() == "resources":
                    key = value
                    if key != "Resources":
                        break
            elif prefix == "totalResults" and event == "number":
                total = value
    if key is not None and key != "Resources":
        notes.append(("resources_key_case", f'the resources were under "{key}", read as "Resources"'))
        with _open(path) as handle:
            found = 0
            for index, item in enumerate(ijson.items(handle, f"{key}.item", use_float=True), start=1):
                found = index
                yield f"resource #{index}", item, None
        if found:
            return
    if key is not None:
        if total == 0:
            return  # a ListResponse that says there is nothing: an empty export
        raise InputError(
            f"{name}: found a ListResponse with an empty Resources list but totalResults {total}; "
            'an empty export says "totalResults": 0'
        )
    with _open(path) as handle:
        text = _read_at_most(handle, bounds.max_resource_bytes + 1)
    shown = ", ".join(keys) or "none"
    if len(text) <= bounds.max_resource_bytes:
        value = _loads(text)
        if isinstance(value, dict) and _is_single_resource(value):
            yield "resource #1", value, None
            return
    raise InputError(
        f"{name}: found a JSON object with no Resources list (keys: {shown}); expected a ListResponse, "
        "one resource, a JSON array or NDJSON"
    )


def _read_at_most(handle: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes, read a megabyte at a time (``read(size)`` would reserve them all first)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = handle.read(min(left, 1 << 20))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _is_single_resource(value: dict[str, Any]) -> bool:
    """One SCIM resource on its own (what GET /Users/{id} answers): a resource schema or an id."""
    schemas = [s for s in _schemas(value) if isinstance(s, str)]
    if any(s.startswith("urn:ietf:params:scim:api:messages:") for s in schemas):
        return False
    return bool(schemas) or "id" in value


def _locate_json_error(name: str, path: Path, handle: IO[bytes], exc: Exception) -> str:
    """``file:line:column: message`` for small files; a byte offset for large ones."""
    size = path.stat().st_size
    if size <= _EXACT_POSITION_LIMIT:
        with _open(path) as again:
            text = again.read(_EXACT_POSITION_LIMIT + 1).decode("utf-8", errors="replace")
        try:
            json.loads(text)
        except json.JSONDecodeError as located:
            return f"{name}:{located.lineno}:{located.colno}: invalid JSON ({located.msg})"
        except RecursionError:
            pass
    try:
        offset = handle.tell()
    except (OSError, ValueError):
        offset = -1
    return f"{name}: invalid JSON near byte {offset} ({str(exc).splitlines()[0]})"


def import_files(
    store: Store,
    files: Sequence[Path],
    *,
    system: str,
    cycle: str,
    kind: ExportKind = "full",
    since: str | None = None,
    filter_expr: str | None = None,
    lenient: bool = False,
    force: bool = False,
) -> ImportResult:
    """Load SCIM files into ``exports/system=…/cycle=…/kind=…`` and return the manifest.

    An export already at ``cycle`` is replaced only with ``force``. For a delta export the
    filter it was taken with (``--since`` → ``meta.lastModified
    gt "TS"``, or ``--filter``) and its watermark are recorded in the manifest.
    """
    check_name(system, "system name")
    check_name(cycle, "cycle id")
    if since is not None and filter_expr is not None:
        raise UsageError("give --since or --filter, not both")
    if (since is not None or filter_expr is not None) and kind != "delta":
        raise UsageError("--since and --filter describe a delta export: add --kind delta")
    if not files:
        raise UsageError("no input files given")
    manifest = Manifest(system=system, cycle=cycle, kind=kind)
    if since is not None:
        manifest.filter, manifest.watermark = since_filter(since)
    elif filter_expr is not None:
        parse_filter(filter_expr)  # one that cannot be parsed here could never be checked by deltas
        manifest.filter = filter_expr
    manifest.started = _now()
    manifest.origin = {"method": "import", "files": [str(f) for f in files]}
    ref = store.export(system, cycle, kind)
    if ref.path.exists() and not force:
        raise UsageError(
            f"system {system!r} already has a {kind} export for cycle {cycle} ({ref.path}); "
            "give --force to replace it, or another --cycle"
        )
    # Ordering a large export by id is the memory peak: cap DuckDB so it spills instead of growing.
    con = open_session(temp_dir=store.temp_dir, buffer_default="768MB")
    with store.publishing(ref.path) as staging:
        writer = ExportWriter(staging)
        intake = _Intake(writer)
        try:
            for path in files:
                intake.read(Path(path))
            intake.finish()
        finally:
            intake.close()
        problems, rejects, anomaly_counts = intake.problems, intake.rejects, intake.anomaly_counts
        if problems and not lenient:
            writer.close()
            raise ImportRejected(
                f"{len(problems)} resource(s) rejected, nothing imported (use --lenient to import the rest)",
                problems,
            )
        manifest.pages = len(files)
        for anomaly_kind, (count, examples) in sorted(anomaly_counts.items()):
            detail = _ANOMALY_DETAIL.get(anomaly_kind, "{count} value(s) accepted after coercion")
            manifest.add_anomaly(anomaly_kind, detail.format(count=count), count, examples=examples)
        if rejects:
            manifest.rejected = len(rejects)
            manifest.status = "partial"
            manifest.add_anomaly(
                "rejected_resources",
                f"{len(rejects)} resource(s) rejected and written to rejects.parquet",
                len(rejects),
                examples=problems[:5],
            )
            pq.write_table(pa.Table.from_pylist(rejects, schema=REJECTS), staging / "rejects.parquet")
        manifest.finished = _now()
        writer.finish(con, manifest)
    con.close()
    rejects_path = ref.path / "rejects.parquet" if rejects else None
    return ImportResult(ref.path, manifest, rejects_path)


_ANOMALY_DETAIL = {
    "resources_key_case": (
        "{count} ListResponse(s) held their resources under a key spelled in another case than "
        '"Resources", read as Resources (SCIM attribute names are case-insensitive, RFC 7643 §2.1)'
    ),
}

# file, positions, and the resources parsed by ijson (None for an NDJSON line: its text is parsed again)
_Tag = tuple[str, list[str], list[Any]]


class _Intake:
    """Resources into the writer, in file order, with the problems and anomalies met.

    Plain Users (see :mod:`recon.extract.columns`) are gathered in pages of :data:`FAST_PAGE`
    and made into columns several pages at a time on a worker thread; every other resource,
    and every user of a page the columns refuse, goes through ``normalise`` one by one. Before
    such a resource the pages gathered so far are written, so rows, anomalies and rejects come
    out in the order the per-resource path gives them.
    """

    def __init__(self, writer: ExportWriter) -> None:
        self.writer = writer
        self.problems: list[str] = []
        self.rejects: list[dict[str, Any]] = []
        self.anomaly_counts: dict[str, list[Any]] = {}
        self._columns: UsersColumns[_Tag] = UsersColumns()
        self._texts: list[bytes] = []
        self._positions: list[str] = []
        self._resources: list[Any] = []

    def read(self, path: Path) -> None:
        """Every resource of one file."""
        name = str(path)
        notes: list[tuple[str, str]] = []
        try:
            self._read(name, path, notes)
        finally:
            for anomaly_kind, detail in notes:
                entry = self.anomaly_counts.setdefault(anomaly_kind, [0, []])
                entry[0] += 1
                if len(entry[1]) < 5:
                    entry[1].append(f"{name}: {detail}")

    def _read(self, name: str, path: Path, notes: list[tuple[str, str]]) -> None:
        if not FAST_PATH:
            for position, resource, raw in _iter_items(path, notes):
                self._one(name, position, resource, raw)
            return
        for position, resource, raw in _iter_items(path, notes):
            text = _plain_text(resource, raw)
            if text is None:
                self._send(name)
                self._write(self._columns.drain())
                self._one(name, position, resource, raw)
                continue
            self._texts.append(text)
            self._positions.append(position)
            self._resources.append(None if raw is not None else resource)
            if len(self._texts) >= FAST_PAGE:
                self._send(name)
        self._send(name)

    def finish(self) -> None:
        """Write the pages still being made into columns."""
        self._write(self._columns.drain())

    def close(self) -> None:
        """Stop the worker thread (after an error: the pages not written yet are dropped)."""
        self._columns.close()

    def _send(self, name: str) -> None:
        if not self._texts:
            return
        done = self._columns.add((name, self._positions, self._resources), (self._texts, None))
        self._texts, self._positions, self._resources = [], [], []
        self._write(done)

    def _write(self, done: Done[_Tag]) -> None:
        for (name, positions, resources), texts, batch in done:
            if batch is not None:
                self.writer.add_users(batch)
                continue
            for position, resource, text in zip(positions, resources, texts, strict=True):
                if resource is None:  # an NDJSON line: parsed again from its text, it is the same
                    self._one(name, position, orjson.loads(text), text)
                else:  # parsed by ijson: normalise serialises it as the columns did
                    self._one(name, position, resource, None)

    def _one(self, name: str, position: str, resource: Any, raw: bytes | None) -> None:
        try:
            if isinstance(resource, Refused):
                raise Rejected(resource.reason)
            normalised = normalise(resource, None if raw is None else raw.decode("utf-8"))
        except Rejected as exc:
            rid = resource.get("id") if isinstance(resource, dict) else None
            where = f"{name}: {position}"
            self.problems.append(f"{where}{f' (id {rid})' if rid else ''}: {exc}")
            self.rejects.append(
                {
                    "file": name,
                    "position": position,
                    "id": None if rid is None else str(rid),
                    "reason": str(exc),
                    "raw": _reject_text(resource),
                }
            )
            return
        for anomaly_kind, detail in normalised.anomalies:
            entry = self.anomaly_counts.setdefault(anomaly_kind, [0, []])
            entry[0] += 1
            if len(entry[1]) < 5:
                entry[1].append(f"{position} (id {normalised.row['id']}): {detail}")
        self.writer.add(normalised)


def _reject_text(resource: Any) -> str:
    """The rejected resource as JSON text (escaped where it cannot be UTF-8; a preview when refused)."""
    if isinstance(resource, Refused):
        return resource.preview.decode("utf-8", errors="replace")
    try:
        return orjson.dumps(resource).decode("utf-8")
    except orjson.JSONEncodeError:
        try:
            return json.dumps(resource, ensure_ascii=True)
        except (ValueError, RecursionError):
            return repr(resource)[:_PREVIEW]


def _plain_text(resource: Any, raw: bytes | None) -> bytes | None:
    """The text the columns read for a plain User (``raw``, or as orjson writes it), else None."""
    if not is_user_object(resource):
        return None
    if raw is not None:
        return raw
    try:
        return orjson.dumps(resource)
    except orjson.JSONEncodeError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
