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
import os
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
_EXACT_POSITION_LIMIT = 64 * 1024 * 1024  # below this size a JSON error is re-located to line:column
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


def _is_ndjson(handle: IO[bytes]) -> bool:
    """True when the first line is a whole JSON object on its own (then lines are records)."""
    line = handle.readline()
    handle.seek(0)
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict)


def iter_resources(path: Path) -> Iterator[Located]:
    """Yield every resource in ``path`` with its position; raises :class:`InputError` on bad JSON."""
    name = str(path)
    for position, resource, raw in _iter_items(path):
        yield Located(name, position, resource, None if raw is None else raw.decode("utf-8"))


# (position, resource, raw): raw is an NDJSON line's own text (what ``normalise`` keeps), else None
_Item = tuple[str, Any, bytes | None]


def _iter_items(path: Path) -> Iterator[_Item]:
    name = str(path)
    with _open(path) as handle:
        first = _first_byte(handle)
        if first == b"":
            raise InputError(f"{name}: empty file, expected SCIM JSON or NDJSON")
        if first == b"{" and _is_ndjson(handle):
            yield from _iter_ndjson(name, handle)
        elif first in (b"{", b"["):
            yield from _iter_json(name, path, handle, first)
        else:
            raise InputError(
                f"{name}:1: expected a JSON object or array, found {first.decode(errors='replace')!r}"
            )


def _iter_ndjson(name: str, handle: IO[bytes]) -> Iterator[_Item]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}: invalid JSON on this NDJSON line ({exc})") from exc
        if isinstance(value, dict) and (
            "Resources" in value or LIST_RESPONSE in (value.get("schemas") or [])
        ):
            for index, item in enumerate(_page_resources(name, f"line {number}", value), start=1):
                yield f"line {number} resource #{index}", item, None
        else:
            yield f"line {number}", value, _line_text(line)


def _line_text(line: bytes) -> bytes:
    """The line without surrounding whitespace, as ``line.decode().strip()`` gives it (UTF-8)."""
    text = line.strip()
    if text[:1] == b"{" and text[-1:] == b"}":  # an object: only JSON whitespace was around it
        return text
    return line.decode("utf-8").strip().encode("utf-8")  # str.strip also strips non-ASCII spaces


def _page_resources(name: str, where: str, page: dict[str, Any]) -> list[Any]:
    resources = page.get("Resources", [])
    if resources is None:
        return []
    if not isinstance(resources, list):
        raise InputError(f"{name}: {where}: Resources is not a list")
    return resources


def _iter_json(name: str, path: Path, handle: IO[bytes], first: bytes) -> Iterator[_Item]:
    try:
        if first == b"{":
            for index, item in enumerate(ijson.items(handle, "Resources.item", use_float=True), start=1):
                yield f"resource #{index}", item, None
            return
        count = 0
        for item_index, item in enumerate(ijson.items(handle, "item", use_float=True), start=1):
            if isinstance(item, dict) and (
                "Resources" in item or LIST_RESPONSE in (item.get("schemas") or [])
            ):
                for resource in _page_resources(name, f"page {item_index}", item):
                    count += 1
                    yield f"page {item_index} resource #{count}", resource, None
            else:
                count += 1
                yield f"resource #{count}", item, None
    except ijson.JSONError as exc:
        raise InputError(_locate_json_error(name, path, handle, exc)) from exc


def _locate_json_error(name: str, path: Path, handle: IO[bytes], exc: Exception) -> str:
    """``file:line:column: message`` for small files; a byte offset for large ones."""
    size = path.stat().st_size
    if size <= _EXACT_POSITION_LIMIT:
        with _open(path) as again:
            text = again.read().decode("utf-8", errors="replace")
        try:
            json.loads(text)
        except json.JSONDecodeError as located:
            return f"{name}:{located.lineno}:{located.colno}: invalid JSON ({located.msg})"
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
) -> ImportResult:
    """Load SCIM files into ``exports/system=…/cycle=…/kind=…`` and return the manifest.

    For a delta export the filter it was taken with (``--since`` → ``meta.lastModified
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
        manifest.filter = filter_expr
    manifest.started = _now()
    manifest.origin = {"method": "import", "files": [str(f) for f in files]}
    ref = store.export(system, cycle, kind)
    # Ordering a large export by id is the memory peak: cap DuckDB so it spills instead of growing.
    con = open_session(temp_dir=store.temp_dir, memory_limit=os.environ.get("RECON_MEMORY_LIMIT") or "768MB")
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
            manifest.add_anomaly(
                anomaly_kind, f"{count} value(s) accepted after coercion", count, examples=examples
            )
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
        if not FAST_PATH:
            for position, resource, raw in _iter_items(path):
                self._one(name, position, resource, raw)
            return
        for position, resource, raw in _iter_items(path):
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
        done = self._columns.add((name, self._positions, self._resources), self._texts)
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
                    "raw": orjson.dumps(resource).decode("utf-8"),
                }
            )
            return
        for anomaly_kind, detail in normalised.anomalies:
            entry = self.anomaly_counts.setdefault(anomaly_kind, [0, []])
            entry[0] += 1
            if len(entry[1]) < 5:
                entry[1].append(f"{position} (id {normalised.row['id']}): {detail}")
        self.writer.add(normalised)


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
