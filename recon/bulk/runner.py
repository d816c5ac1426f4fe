"""Sending a plan's chunks for ``recon bulk apply``: one :class:`Runner` per run.

The runner keeps the ids created so far, the creations that failed and why the run stopped,
and writes every exchange to the run's log as it happens (see :mod:`recon.bulk.apply`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from recon.bulk.chunking import chunk_operations
from recon.bulk.exchanges import (
    NotSent,
    Previous,
    exchange_line,
    not_sent_line,
    previous_line,
    retry_line,
)
from recon.bulk.ledger import Ledger
from recon.bulk.model import (
    BulkOperation,
    BulkRequest,
    BulkResponse,
    OperationResult,
    parse_response,
    substitute_references,
)
from recon.bulk.planfile import LoadedPlan
from recon.bulk.records import Exchange, OpRecord, operation_records
from recon.bulk.send import Reply, Sender, filter_literal, single_result
from recon.errors import InputError

__all__ = ["TRANSIENT", "RunState", "Runner"]

TRANSIENT = frozenset({429, 500, 502, 503, 504})


@dataclass
class RunState:
    """What a run has done so far."""

    created: dict[str, str]
    failed: set[str] = field(default_factory=set)
    stop: str | None = None
    error: str | None = None
    requests: int = 0
    sent: int = 0
    already_done: int = 0
    not_sent: int = 0


class Runner:
    """Sends one chunk at a time and writes the log; keeps the created ids and failures."""

    def __init__(
        self,
        plan: LoadedPlan,
        ledger: Ledger,
        state: RunState,
        sender: Sender,
        log: IO[bytes],
        use_bulk: bool,
        max_ops: int,
        max_bytes: int,
        fail_on_errors: int | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.plan, self.ledger, self.state, self.sender, self.log = plan, ledger, state, sender, log
        self.use_bulk, self.max_ops, self.max_bytes = use_bulk, max_ops, max_bytes
        self.fail_on_errors = fail_on_errors
        self.errors = 0  # single mode: errors so far, against failOnErrors
        self.sleep = sleep
        self.can_look_up = True

    # -- log --------------------------------------------------------------------------------
    def _write(self, line: bytes) -> None:
        self.log.write(line)
        self.log.flush()

    def _not_sent(self, label: str, op: BulkOperation, reason: str) -> None:
        self._write(not_sent_line(NotSent(label, op, reason)))
        self.state.not_sent += 1
        if op.method == "POST" and op.bulk_id:
            self.state.failed.add(op.bulk_id)

    def _stop(self, reason: str, *, error: bool = False) -> None:
        self.state.stop = self.state.stop or reason
        if error:
            self.state.error = self.state.error or reason

    # -- one chunk --------------------------------------------------------------------------
    def chunk(self, name: str, chunk: BulkRequest, retry_rounds: int) -> None:
        todo: list[BulkOperation] = []
        for op in chunk.operations:
            bulk_id = str(op.bulk_id)
            if self.state.stop:
                self._not_sent(name, op, f"not sent: the run stopped ({self.state.stop})")
            elif bulk_id in self.ledger.done:
                result, run = self.ledger.done[bulk_id]
                self._write(previous_line(Previous(name, op, result, f"completed by run {run}")))
                self.state.already_done += 1
            elif op.method == "POST" and bulk_id in self.ledger.uncertain:
                if self._found(name, op):
                    continue
                if self.can_look_up:
                    todo.append(op)
                else:
                    self._not_sent(
                        name,
                        op,
                        "not sent: an earlier attempt may have created it and the "
                        "target cannot be searched to check",
                    )
            else:
                todo.append(op)
        for round_number in range(retry_rounds + 1):
            if not todo or self.state.stop:
                return
            if round_number:
                self.sleep(float(2**round_number))
                todo = [op for op in todo if self._safe_to_resend(name, op)]
                if not todo:
                    return
                self._write(retry_line([str(op.bulk_id) for op in todo]))
            retry = self._send_bulk(name, todo) if self.use_bulk else self._send_single(name, todo)
            todo = [op for op in chunk.operations if op.bulk_id in retry]

    def _safe_to_resend(self, label: str, op: BulkOperation) -> bool:
        """PATCH/PUT/DELETE are (idempotent or If-Match guarded); a POST only if a lookup shows it absent."""
        if op.method != "POST":
            return True
        return not self._found(label, op, record_only=True) and self.can_look_up

    def _ready(self, label: str, ops: list[BulkOperation], here: set[str]) -> list[BulkOperation]:
        """``ops`` with created ids substituted; those referring to a failed creation are not sent."""
        ready = []
        for op in ops:
            blocked = [ref for ref in op.references() if ref in self.state.failed]
            unknown = [
                ref
                for ref in op.references()
                if ref not in self.state.created and ref not in here and ref not in self.state.failed
            ]
            if blocked or unknown:
                ref = (blocked or unknown)[0]
                self._not_sent(label, op, f"not sent: it refers to bulkId {ref}, which was not created")
                continue
            ready.append(op)
        return ready

    # -- bulk -------------------------------------------------------------------------------
    def _send_bulk(self, name: str, ops: list[BulkOperation]) -> set[str]:
        retry: set[str] = set()
        queue = list(ops)
        part = 0
        while queue:
            if self.state.stop:
                for op in queue:
                    self._not_sent(name, op, f"not sent: the run stopped ({self.state.stop})")
                return retry
            posts_here = {str(op.bulk_id) for op in queue if op.method == "POST"}
            queue = [
                substitute_references(op, self.state.created) for op in self._ready(name, queue, posts_here)
            ]
            if not queue:
                break
            request = chunk_operations(
                queue,
                max_operations=self.max_ops,
                max_payload_size=self.max_bytes,
                fail_on_errors=self.fail_on_errors,
            )[0]
            part += 1
            label = name if part == 1 and len(request.operations) == len(queue) else f"{name}#{part}"
            reply = self.sender.send("POST", "/Bulk", content=request.to_bytes())
            self.state.requests += 1
            resend = self._bulk_reply(label, request, reply, retry)
            if resend == "single":
                self.use_bulk = False
                return retry | self._send_single(name, queue)
            if resend != "split":
                queue = queue[len(request.operations) :]
        return retry

    def _bulk_reply(self, label: str, request: BulkRequest, reply: Reply, retry: set[str]) -> str:
        ids = [str(op.bulk_id) for op in request.operations]
        if reply.status is None:
            self._log_problem(label, request, reply, reply.problem or "no answer")
            return "stop"
        if reply.status == 413 and len(request.operations) > 1:
            self._log_refused(label, request, reply, "413: refused as too large; split and sent again")
            self._write(retry_line(ids))
            self.max_ops = max(1, len(request.operations) // 2)
            return "split"
        if reply.status == 501:
            self._log_refused(label, request, reply, "501: /Bulk not supported; sent as single requests")
            self._write(retry_line(ids))
            return "single"
        if not 200 <= reply.status < 300:
            body = reply.json()
            detail = body.get("detail") if isinstance(body, dict) else reply.text[:120]
            reason = f"the server answered {reply.status} to the BulkRequest {label} ({detail})"
            if reply.status >= 500:
                self._log_problem(label, request, reply, reason)
            else:
                self._log_refused(label, request, reply, reason)
                self._stop(reason, error=True)
            return "stop"
        body = reply.json()
        if body is None:
            self._log_problem(
                label, request, reply, f"{label}: the BulkResponse is not JSON ({reply.text[:80]!r})"
            )
            return "stop"
        try:
            exchange = Exchange(label, request, parse_response(body, label))
            records = operation_records(exchange, self.state.created)
        except InputError as exc:
            self._log_problem(label, request, reply, str(exc))
            return "stop"
        self._write(exchange_line(exchange, response_json=body, http_status=reply.status, response_text=None))
        self.state.sent += len(request.operations)
        self._judge(
            label, records, retry, stopped_by_server=any(r.reported == "not_attempted" for r in records)
        )
        return "next"

    def _log_problem(self, label: str, request: BulkRequest, reply: Reply, problem: str) -> None:
        exchange = Exchange(label, request, None, problem)
        self._write(
            exchange_line(
                exchange,
                response_json=reply.json(),
                http_status=reply.status,
                response_text=reply.text[:2000] if reply.json() is None else None,
            )
        )
        self.state.sent += len(request.operations)
        self._stop(f"{problem}; nothing of it was retried", error=True)

    def _log_refused(self, label: str, request: BulkRequest, reply: Reply, reason: str) -> None:
        exchange = Exchange(label, request, None, reason, refused=True)
        self._write(
            exchange_line(
                exchange,
                response_json=reply.json(),
                http_status=reply.status,
                response_text=None,
                refused=reason,
            )
        )

    def _judge(
        self, label: str, records: list[OpRecord], retry: set[str], *, stopped_by_server: bool
    ) -> None:
        errors = [r for r in records if r.reported == "error" and r.result is not None]
        for record in errors:
            op, result = record.operation, record.result
            assert result is not None
            if op.method == "POST" and result.status == 409:
                if not self._found(label, op, record_only=True):
                    self.state.failed.add(str(op.bulk_id))
            elif result.status in TRANSIENT:
                retry.add(str(op.bulk_id))
            elif op.method == "POST" and op.bulk_id:
                self.state.failed.add(op.bulk_id)
        self.errors += len(errors)
        reached = self.fail_on_errors is not None and (
            stopped_by_server or (self.errors if not self.use_bulk else len(errors)) >= self.fail_on_errors
        )
        if reached:
            self._stop(f"failOnErrors={self.fail_on_errors} reached in {label}")
            retry.clear()

    # -- single requests -------------------------------------------------------------------
    def _send_single(self, name: str, ops: list[BulkOperation]) -> set[str]:
        retry: set[str] = set()
        for op in ops:
            if self.state.stop:
                self._not_sent(name, op, f"not sent: the run stopped ({self.state.stop})")
                continue
            if not self._ready(name, [op], set()):
                continue
            sent = substitute_references(op, self.state.created)
            headers = {"If-Match": sent.version} if sent.version else None
            content = orjson.dumps(sent.data) if sent.data is not None else None
            reply = self.sender.send(sent.method, sent.path, content=content, headers=headers)
            self.state.requests += 1
            label = f"{name} {sent.bulk_id}"
            request = BulkRequest((sent,))
            if reply.status is None:
                self._log_problem(label, request, reply, reply.problem or "no answer")
                continue
            result = single_result(sent, reply)
            exchange = Exchange(label, request, BulkResponse((result,)), mode="single")
            records = operation_records(exchange, self.state.created)
            self._write(
                exchange_line(
                    exchange,
                    response_json=exchange.response.to_json() if exchange.response else None,
                    http_status=reply.status,
                    response_text=None,
                    http_body=reply.text[:4000],
                )
            )
            self.state.sent += 1
            self._judge(label, records, retry, stopped_by_server=False)
        return retry

    # -- lookups ---------------------------------------------------------------------------
    def _found(self, label: str, op: BulkOperation, *, record_only: bool = False) -> bool:
        """Whether the resource ``op`` creates may already be in the target (then it is not sent).

        One match: its id serves later references (with ``record_only``, nothing is logged,
        as the operation's answer is already recorded). Several matches: not sent either.
        """
        bulk_id = str(op.bulk_id)
        endpoint = "Groups" if op.resource_type == "Group" else "Users"
        for attribute, value in self.plan.operations.get(bulk_id, {}).get("lookup") or []:
            reply = self.sender.send(
                "GET", f"/{endpoint}", params={"filter": f"{attribute} eq {filter_literal(value)}"}
            )
            self.state.requests += 1
            body = reply.json()
            if reply.status != 200 or not isinstance(body, dict):
                self.can_look_up = False
                break
            resources = [r for r in body.get("Resources") or [] if isinstance(r, dict) and r.get("id")]
            if len(resources) > 1:  # it may exist, but which one is it? never create another
                reason = (
                    f"not sent: {len(resources)} resources already match {attribute} eq "
                    f"{filter_literal(value)}; a person must decide which one it is"
                )
                if record_only:
                    self.state.failed.add(bulk_id)
                else:
                    self._not_sent(label, op, reason)
                return True
            if not resources:
                continue
            resource = resources[0]
            meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
            location = meta.get("location") or f"/{endpoint}/{resource['id']}"
            self.state.created[bulk_id] = str(resource["id"])
            self.state.failed.discard(bulk_id)
            if not record_only:
                note = f"not sent: already in the target (found by {attribute} eq {filter_literal(value)})"
                result = OperationResult("POST", bulk_id, str(location), meta.get("version"), 200)
                self._write(previous_line(Previous(label, op, result, note)))
                self.state.already_done += 1
            return True
        return False
