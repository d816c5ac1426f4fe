"""Reading and writing bulk exchanges: request/response file pairs and NDJSON logs.

A log (``exchanges.ndjson``, written by ``recon bulk apply`` and accepted by ``recon bulk
analyze --log``) has one JSON object per line:

- ``{"type": "exchange", "label", "request": BulkRequest, "response": BulkResponse | null,
  "http_status", "response_text", "problem", "mode", "sent_at", ...}`` — one request sent
  and what came back (``problem`` set by apply when the answer was unusable);
- ``{"type": "not_sent", "label", "operation": {...}, "reason"}`` — an operation recon did not send;
- ``{"type": "previous", "label", "operation": {...}, "result": {...}, "note"}`` — an operation
  not sent because it is already done (completed by an earlier run of the same plan, or
  found in the target by a lookup);
- ``{"type": "retry", "bulk_ids": [...]}`` — the operations are sent again: what was recorded
  for them before is superseded by what follows.

A line without ``type`` is an exchange, so ``{"request": …, "response": …}`` lines from
other tools are accepted. Nothing here writes a credential: requests are stored as bodies.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from recon.bulk.model import (
    BulkOperation,
    BulkRequest,
    BulkResponse,
    OperationResult,
    parse_request,
    parse_response,
)
from recon.bulk.records import Exchange, OpRecord, operation_records
from recon.errors import InputError

__all__ = [
    "LogEntry",
    "NotSent",
    "Previous",
    "Retry",
    "exchange_line",
    "last_recorded_at",
    "not_sent_line",
    "previous_line",
    "read_json_file",
    "read_json_with_text",
    "read_log",
    "read_pair",
    "read_text",
    "records_of",
    "retry_line",
    "utc_now",
]


@dataclass(frozen=True)
class NotSent:
    """An operation recon did not send (and why)."""

    label: str
    operation: BulkOperation
    reason: str


@dataclass(frozen=True)
class Previous:
    """An operation already done: by an earlier run of the same plan, or found by a lookup."""

    label: str
    operation: BulkOperation
    result: OperationResult
    note: str


@dataclass(frozen=True)
class Retry:
    """The operations with these bulkIds are sent again; earlier records of them are superseded."""

    bulk_ids: tuple[str, ...]


LogEntry = Exchange | NotSent | Previous | Retry


def read_text(path: Path) -> str:
    """A log or JSON file as text (``.gz`` decompressed); a missing file is an :class:`InputError`."""
    return _open_text(path)


def _open_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def read_json_file(path: Path) -> Any:
    """Parse a JSON file; a syntax error names ``file:line:column``."""
    return read_json_with_text(path)[0]


def read_json_with_text(path: Path) -> tuple[Any, str]:
    """:func:`read_json_file`, and the file's text."""
    text = _open_text(path)
    return _parse_json(text, path), text


def _parse_json(text: str, path: Path) -> Any:
    if not text.strip():
        raise InputError(f"{path}: empty file, not JSON")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # parse again with json for the line and column of the error
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc


def read_pair(request_path: Path, response_path: Path) -> Exchange:
    """One BulkRequest file and its BulkResponse file."""
    request = parse_request(read_json_file(request_path), str(request_path))
    response = parse_response(read_json_file(response_path), str(response_path))
    return Exchange(label=response_path.name, request=request, response=response)


def read_log(path: Path) -> list[LogEntry]:
    """Every entry of an NDJSON log, in order; a bad line raises naming ``file:line``."""
    entries: list[LogEntry] = []
    for number, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}:{exc.colno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object per line")
        entries.append(_entry(obj, where))
    return entries


def _entry(obj: dict[str, Any], where: str) -> LogEntry:
    kind = obj.get("type", "exchange")
    label = str(obj.get("label") or where)
    if kind == "retry":
        bulk_ids = obj.get("bulk_ids")
        if not isinstance(bulk_ids, list) or not all(isinstance(b, str) for b in bulk_ids):
            raise InputError(f"{where}: a retry entry needs a 'bulk_ids' list of strings")
        return Retry(tuple(bulk_ids))
    if kind in ("not_sent", "previous"):
        request = parse_request({"Operations": [obj.get("operation")]}, where)
        operation = request.operations[0]
        if kind == "not_sent":
            return NotSent(label, operation, str(obj.get("reason") or "not sent"))
        result = parse_response({"Operations": [obj.get("result")]}, where).operations[0]
        return Previous(label, operation, result, str(obj.get("note") or "already done"))
    if kind != "exchange":
        raise InputError(f"{where}: unknown entry type {kind!r}")
    request = parse_request(obj.get("request"), f"{where} request")
    problem = obj.get("problem")
    if obj.get("refused"):
        return Exchange(
            label, request, None, str(obj["refused"]), str(obj.get("mode") or "bulk"), refused=True
        )
    if problem:
        return Exchange(label, request, None, str(problem), str(obj.get("mode") or "bulk"))
    body = obj.get("response")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: the response is not JSON ({exc.msg})") from exc
    if body is None:
        text = obj.get("response_text")
        shown = f": {str(text)[:80]!r}" if text else ""
        raise InputError(f"{where}: no JSON BulkResponse recorded{shown}")
    response = parse_response(body, f"{where} response")
    return Exchange(label, request, response, None, str(obj.get("mode") or "bulk"))


def records_of(entries: Iterable[LogEntry]) -> list[OpRecord]:
    """Operation records of log entries, in order; a ``retry`` entry drops earlier records of its ops.

    bulkIds created by earlier entries resolve references in later ones.
    """
    created: dict[str, str] = {}
    records: list[OpRecord] = []
    for entry in entries:
        if isinstance(entry, Retry):
            again = set(entry.bulk_ids)
            records = [r for r in records if r.operation.bulk_id not in again]
        elif isinstance(entry, Exchange):
            records += operation_records(entry, created)
        elif isinstance(entry, NotSent):
            records += operation_records(
                Exchange(entry.label, BulkRequest((entry.operation,)), None, entry.reason, refused=True),
                created,
            )
        else:
            done = operation_records(
                Exchange(entry.label, BulkRequest((entry.operation,)), BulkResponse((entry.result,))), created
            )
            records += [
                OpRecord(
                    r.label,
                    r.op_index,
                    r.operation,
                    r.reported,
                    r.result,
                    entry.note,
                    r.resource_type,
                    r.resource_id,
                )
                for r in done
            ]
    return records


def exchange_line(
    exchange: Exchange,
    *,
    response_json: Any,
    http_status: int | None,
    response_text: str | None,
    **extra: Any,
) -> bytes:
    """An ``exchange`` log line.

    ``response_json`` is the BulkResponse body as received (bulk mode) or the result
    recon assembled from a single request's answer (single mode, whose body goes in ``extra``);
    ``response_text`` keeps a body that was not JSON.
    """
    obj: dict[str, Any] = {
        "type": "exchange",
        "label": exchange.label,
        "mode": exchange.mode,
        "recorded_at": utc_now(),
        **extra,
        "request": exchange.request.to_json(),
        "http_status": http_status,
        "response": response_json,
        "response_text": response_text,
        "problem": exchange.problem,
    }
    return orjson.dumps(obj) + b"\n"


def utc_now() -> str:
    """The current UTC time as ISO text with ``Z`` (microseconds: answers arrive fast)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def last_recorded_at(path: Path) -> str | None:
    """The latest ``recorded_at`` of a log's exchanges (None for logs from elsewhere)."""
    latest = None
    for line in _open_text(path).splitlines():
        if '"recorded_at"' not in line:
            continue
        value = json.loads(line).get("recorded_at")
        if isinstance(value, str) and (latest is None or value > latest):
            latest = value
    return latest


def not_sent_line(entry: NotSent) -> bytes:
    """A ``not_sent`` log line."""
    return (
        orjson.dumps(
            {
                "type": "not_sent",
                "label": entry.label,
                "operation": entry.operation.to_json(),
                "reason": entry.reason,
            }
        )
        + b"\n"
    )


def previous_line(entry: Previous) -> bytes:
    """A ``previous`` log line."""
    return (
        orjson.dumps(
            {
                "type": "previous",
                "label": entry.label,
                "operation": entry.operation.to_json(),
                "result": entry.result.to_json(),
                "note": entry.note,
            }
        )
        + b"\n"
    )


def retry_line(bulk_ids: Iterable[str]) -> bytes:
    """A ``retry`` log line."""
    return orjson.dumps({"type": "retry", "bulk_ids": list(bulk_ids)}) + b"\n"
