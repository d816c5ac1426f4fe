"""Cut an ordered list of bulk operations into BulkRequests that fit a server's limits.

The size of a request is measured on its exact serialisation (:meth:`BulkRequest.to_bytes`):
the bytes of the empty request, plus each operation's compact JSON, plus one comma between
operations. Operations keep their order, so a POST always precedes the operations that
reference its ``bulkId``. A reference to a bulkId created in an *earlier* chunk is sent as
the created id (apply substitutes it), so it is budgeted at ``id_budget`` characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from recon.bulk.model import BULK_ID_PREFIX, BulkOperation, BulkRequest
from recon.errors import UsageError

__all__ = ["chunk_operations", "empty_request_size", "operation_size"]


def empty_request_size(fail_on_errors: int | None = None) -> int:
    """Bytes of a BulkRequest with no operations."""
    return len(BulkRequest((), fail_on_errors).to_bytes())


def operation_size(operation: BulkOperation) -> int:
    """Bytes of one operation in a serialised request (without the separating comma)."""
    return len(operation.encoded)


def chunk_operations(
    operations: Sequence[BulkOperation],
    *,
    max_operations: int,
    max_payload_size: int,
    id_budget: int = 0,
    fail_on_errors: int | None = None,
) -> list[BulkRequest]:
    """Greedy, order-preserving chunks of at most ``max_operations`` and ``max_payload_size`` bytes.

    Raises :class:`UsageError` when one operation alone cannot fit.
    """
    if max_operations < 1:
        raise UsageError(f"maxOperations must be at least 1, got {max_operations}")
    base = empty_request_size(fail_on_errors)
    chunks: list[BulkRequest] = []
    current: list[BulkOperation] = []
    created_here: set[str] = set()
    size = base
    prefix = len(BULK_ID_PREFIX)
    for operation in operations:  # a 1M-user plan chunks 144,500: the loop does no call it can spare
        cost = len(operation.encoded)
        references = operation.references()
        slack_new = slack_here = 0
        for ref in references:  # what a reference may grow by: all, and those not created here
            slack = max(0, id_budget - prefix - len(ref))
            slack_new += slack
            if ref not in created_here:
                slack_here += slack
        if current and len(current) < max_operations and size + 1 + cost + slack_here <= max_payload_size:
            size += 1 + cost + slack_here
        else:
            if current:
                chunks.append(BulkRequest(tuple(current), fail_on_errors))
                current, created_here, size = [], set(), base
            if base + cost + slack_new > max_payload_size:
                raise UsageError(
                    f"operation {operation.bulk_id or ''} ({operation.method} {operation.path}) is "
                    f"{cost} bytes; with the request envelope it exceeds maxPayloadSize {max_payload_size}"
                )
            size += cost + slack_new
        current.append(operation)
        if operation.method == "POST" and operation.bulk_id:
            created_here.add(operation.bulk_id)
    if current:
        chunks.append(BulkRequest(tuple(current), fail_on_errors))
    return chunks
