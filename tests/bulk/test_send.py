"""The apply sender: retries only 429 (Retry-After honoured), never leaks the token (MockTransport)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from recon.bulk.model import BulkOperation
from recon.bulk.send import HttpSender, retry_after, single_result
from recon.errors import ScimError

TOKEN = "s3cr3t-token-value"


def sender(handler: object, sleeps: list[float]) -> HttpSender:
    client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return HttpSender("https://t.example/v2", TOKEN, client=client, sleep=sleeps.append)


def test_429_waits_for_retry_after_then_sends_again() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"ok": 1})])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    sleeps: list[float] = []
    reply = sender(handler, sleeps).send("POST", "/Bulk", content=b"{}")
    assert (reply.status, reply.json(), sleeps, reply.waited) == (200, {"ok": 1}, [3.0], 3.0)
    assert [r.headers["Authorization"] for r in seen] == [f"Bearer {TOKEN}"] * 2
    assert "authorization" not in {k.lower() for k in reply.headers}


def test_5xx_and_lost_connections_are_not_retried() -> None:
    calls: list[int] = []

    def boom(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503)
        raise httpx.ConnectError("reset", request=request)

    s = sender(boom, [])
    assert s.send("POST", "/Bulk", content=b"{}").status == 503
    lost = s.send("POST", "/Bulk", content=b"{}")
    assert lost.status is None and lost.problem == "no answer from https://t.example/v2/Bulk: ConnectError"
    assert len(calls) == 2 and TOKEN not in (lost.problem or "")


def test_401_is_an_error_without_the_token() -> None:
    with pytest.raises(ScimError) as raised:
        sender(lambda request: httpx.Response(401), []).send("GET", "/Users")
    assert TOKEN not in str(raised.value) and "401" in str(raised.value)


def test_retry_after_as_seconds_date_or_missing() -> None:
    assert retry_after("7", 0) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(later, 0) <= 30
    assert (retry_after(None, 0), retry_after("soon", 3)) == (1.0, 8.0)


def test_single_answers_take_the_shape_of_bulk_results() -> None:
    post = BulkOperation("POST", "/Users", "u1", None, {"userName": "a"})
    created = httpx.Response(
        201, headers={"Location": "https://t/v2/Users/x1", "ETag": 'W/"1"'}, json={"id": "x1"}
    )
    from recon.bulk.send import Reply

    def reply(response: httpx.Response) -> Reply:
        return Reply(response.status_code, dict(response.headers), response.content)

    result = single_result(post, reply(created))
    assert (result.status, result.location_id, result.version, result.bulk_id) == (201, "x1", 'W/"1"', "u1")
    patch = BulkOperation("PATCH", "/Users/x1", "p2", 'W/"1"', {})
    stale = single_result(patch, reply(httpx.Response(412, json={"status": "412", "detail": "changed"})))
    assert (stale.ok, stale.detail, stale.location) == (False, "changed", None)
    assert single_result(patch, reply(httpx.Response(204))).location == "/Users/x1"
