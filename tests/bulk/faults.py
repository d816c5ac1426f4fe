"""A fault-injecting proxy in front of a real scim2-server (httpx.MockTransport, for faults only).

Requests are forwarded to the real server, so what it applies is real; the proxy then loses,
garbles or edits the answer, or answers 429 without forwarding. ``faults`` is consumed one per
``/Bulk`` request (``None`` = pass through).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Fault = Callable[[httpx.Request, Callable[[], httpx.Response]], httpx.Response]


def lose(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
    """The server applies the request; its answer never arrives."""
    forward()
    raise httpx.ReadTimeout("timed out", request=request)


def garble(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
    """The server applies the request; a proxy answers 200 with an HTML page."""
    forward()
    return httpx.Response(200, content=b"<html><body>Gateway says hi</body></html>", request=request)


def rate_limit(seconds: int) -> Fault:
    """429 with Retry-After; the request is not forwarded."""

    def fault(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": str(seconds)}, request=request)

    return fault


def edit(change: Callable[[dict[str, Any]], None]) -> Fault:
    """The server applies the request; ``change`` edits the BulkResponse JSON it sent back."""

    def fault(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        response = forward()
        body = response.json()
        change(body)
        return httpx.Response(response.status_code, json=body, request=request)

    return fault


def drop_last(body: dict[str, Any]) -> None:
    body["Operations"].pop()


def rename_first_bulk_id(body: dict[str, Any]) -> None:
    body["Operations"][0]["bulkId"] = "not-in-the-request"


def status_of(method: str, status: str) -> Callable[[dict[str, Any]], None]:
    """Report the first ``method`` result as ``status`` (the server did apply it)."""

    def change(body: dict[str, Any]) -> None:
        for operation in body["Operations"]:
            if operation["method"] == method:
                operation["status"] = status
                operation["response"] = {"status": status, "detail": "injected"}
                operation.pop("location", None) if method == "POST" else None
                return

    return change


class FaultProxy:
    """An httpx client whose transport forwards to ``base_url`` and injects ``faults`` on /Bulk."""

    def __init__(self, faults: list[Fault | None]) -> None:
        self.faults = list(faults)
        self.bulk_requests: list[dict[str, Any]] = []
        self._upstream = httpx.Client(timeout=30.0)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self._handle), timeout=30.0)

    def close(self) -> None:
        self._upstream.close()

    def _handle(self, request: httpx.Request) -> httpx.Response:
        def forward() -> httpx.Response:
            upstream = self._upstream.request(
                request.method, request.url, headers=dict(request.headers), content=request.content
            )
            return httpx.Response(
                upstream.status_code,
                headers=dict(upstream.headers),
                content=upstream.content,
                request=request,
            )

        if not request.url.path.endswith("/Bulk"):
            return forward()
        self.bulk_requests.append(json.loads(request.content))
        fault = self.faults.pop(0) if self.faults else None
        return fault(request, forward) if fault is not None else forward()
