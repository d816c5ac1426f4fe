"""Pair each operation of a BulkRequest with its result in the BulkResponse.

An :class:`Exchange` is one request and what came back; :func:`operation_records` turns it
into one :class:`OpRecord` per request operation, with what the server *reported*:

- ``ok`` / ``error``: the response has a result for the operation (2xx / anything else);
- ``not_attempted``: no result, and the server had reached ``failOnErrors`` (RFC 7644
  §3.7.3), or recon did not send it (apply: stopped, or a referenced creation failed);
- ``unconfirmed``: no usable answer (a response recorded as malformed or lost).

Results are matched by ``bulkId`` first, then by method and the resource in ``location``.
``bulkId:`` references in paths and data are resolved from the POST results. A response
that cannot be matched (an unknown bulkId, more results than operations, a result missing
while failOnErrors was not reached) raises :class:`~recon.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from recon.bulk.model import (
    BulkOperation,
    BulkRequest,
    BulkResponse,
    OperationResult,
    built,
    resource_of_path,
    substitute_references,
)
from recon.errors import InputError

__all__ = ["Exchange", "OpRecord", "Reported", "operation_records"]

Reported = Literal["ok", "error", "not_attempted", "unconfirmed"]


@dataclass(frozen=True)
class Exchange:
    """One BulkRequest and its response.

    ``response`` is None when there is no usable answer: ``problem`` says why. With
    ``refused``, the operations were certainly not applied (the server refused the whole
    request, or recon did not send it): they are ``not_attempted``, else ``unconfirmed``.
    """

    label: str
    request: BulkRequest
    response: BulkResponse | None
    problem: str | None = None
    mode: str = "bulk"
    refused: bool = False


@dataclass(frozen=True)
class OpRecord:
    """One request operation and what the server reported for it."""

    label: str
    op_index: int  # 1-based position in its request
    operation: BulkOperation  # as sent
    reported: Reported
    result: OperationResult | None = None
    note: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None  # resolved; None for a failed POST or an unresolved reference


def operation_records(exchange: Exchange, created: dict[str, str] | None = None) -> list[OpRecord]:
    """One record per request operation of ``exchange``, in request order.

    ``created`` maps bulkIds to ids created earlier (other exchanges); it is updated with
    this exchange's successful POSTs.
    """
    created = created if created is not None else {}
    ops = exchange.request.operations
    if exchange.response is None:
        note = exchange.problem or "no response recorded"
        reported: Reported = "not_attempted" if exchange.refused else "unconfirmed"
        return [_record(exchange, i, op, reported, None, note, created) for i, op in enumerate(ops)]
    matched = _match(exchange.label, exchange.request, exchange.response)
    for index, result in matched.items():
        op = ops[index]
        if op.method == "POST" and op.bulk_id and result.ok and result.location_id:
            created[op.bulk_id] = result.location_id
    errors = sum(1 for result in matched.values() if not result.ok)
    fail_on_errors = exchange.request.fail_on_errors
    stopped = fail_on_errors is not None and errors >= fail_on_errors
    records = []
    for index, op in enumerate(ops):
        found = matched.get(index)
        if found is not None:
            status: Reported = "ok" if found.ok else "error"
            records.append(_record(exchange, index, op, status, found, None, created))
        elif stopped:
            note = f"not attempted: the server stopped after failOnErrors={fail_on_errors} error(s)"
            records.append(_record(exchange, index, op, "not_attempted", None, note, created))
        else:
            raise InputError(
                f"{exchange.label}: malformed BulkResponse: no result for operation #{index + 1} "
                f"({op.method} {op.path}) although failOnErrors "
                f"{'was not set' if fail_on_errors is None else f'({fail_on_errors}) was not reached'}"
            )
    return records


def _record(
    exchange: Exchange,
    index: int,
    op: BulkOperation,
    reported: Reported,
    result: OperationResult | None,
    note: str | None,
    created: dict[str, str],
) -> OpRecord:
    resolved = substitute_references(op, created)
    resource_type, resource_id = resolved.resource_type, resolved.resource_id
    if op.method == "POST":
        resource_id = result.location_id if result is not None and result.ok else None
    if resource_id is not None and resource_id.startswith("bulkId:"):
        resource_id = None
    return built(
        OpRecord,
        {
            "label": exchange.label,
            "op_index": index + 1,
            "operation": resolved,
            "reported": reported,
            "result": result,
            "note": note,
            "resource_type": resource_type,
            "resource_id": resource_id,
        },
    )


def _match(label: str, request: BulkRequest, response: BulkResponse) -> dict[int, OperationResult]:
    ops = request.operations
    if len(response.operations) > len(ops):
        raise InputError(
            f"{label}: malformed BulkResponse: {len(response.operations)} results for {len(ops)} operations"
        )
    by_bulk_id: dict[str, list[int]] = {}
    for index, op in enumerate(ops):
        if op.bulk_id is not None:
            by_bulk_id.setdefault(op.bulk_id, []).append(index)
    matched: dict[int, OperationResult] = {}
    pending: list[tuple[int, OperationResult]] = []
    for number, result in enumerate(response.operations, start=1):
        if result.bulk_id is None:
            pending.append((number, result))
            continue
        candidates = [
            i
            for i in by_bulk_id.get(result.bulk_id, [])
            if i not in matched and (result.method is None or result.method == ops[i].method)
        ]
        if not candidates:
            raise InputError(
                f"{label}: malformed BulkResponse: result #{number} has bulkId "
                f"{result.bulk_id!r}, which no {result.method or ''} operation of the request has".replace(
                    "  ", " "
                )
            )
        matched[candidates[0]] = result
    created = {
        ops[i].bulk_id: r.location_id
        for i, r in matched.items()
        if ops[i].method == "POST" and ops[i].bulk_id and r.location_id
    }
    for number, result in pending:
        found = _match_by_location(ops, matched, result, {k: v for k, v in created.items() if k and v})
        if found is None:
            raise InputError(
                f"{label}: malformed BulkResponse: result #{number} ({result.method} "
                f"{result.location or 'no location'}) matches no operation of the request"
            )
        matched[found] = result
    return matched


def _match_by_location(
    ops: tuple[BulkOperation, ...],
    matched: dict[int, OperationResult],
    result: OperationResult,
    created: dict[str, str],
) -> int | None:
    if result.method is None:
        return None
    location_type, location_id = resource_of_path(_location_tail(result.location))
    for index, op in enumerate(ops):
        if index in matched or op.method != result.method:
            continue
        if op.method == "POST":
            if location_type is None or op.resource_type == location_type:
                return index
            continue
        resolved = substitute_references(op, created)
        if location_id is not None and resolved.resource_id == location_id:
            return index
    return None


def _location_tail(location: str | None) -> str | None:
    if not location:
        return None
    parts = location.rstrip("/").rsplit("/", 2)
    return "/".join(parts[-2:]) if len(parts) >= 2 else None
