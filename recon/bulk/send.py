"""HTTP for bulk apply: send a BulkRequest, or one operation as a single SCIM request.

The sender never retries on its own except on ``429 Too Many Requests`` (the server did not
process the request; ``Retry-After`` is honoured): a 5xx or a lost connection may have applied
part of a request, so the caller decides what is safe to resend. Request and response bodies
are returned for the log; the Authorization header is never returned or logged.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from recon.bulk.model import BulkOperation, OperationResult
from recon.config import SystemConfig
from recon.errors import ConfigError, ScimError, UsageError

__all__ = ["HttpSender", "Reply", "Sender", "filter_literal", "single_result"]

SCIM_JSON = "application/scim+json"


@dataclass(frozen=True)
class Reply:
    """What came back for one HTTP request (status None: no answer, ``problem`` says why)."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    problem: str | None = None
    waited: float = 0.0  # seconds spent honouring 429 Retry-After

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Sender(Protocol):
    """What apply needs from an HTTP client."""

    def send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply: ...


class HttpSender:
    """A :class:`Sender` over an ``httpx.Client`` (pass ``client`` to use your own transport)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
        max_429_retries: int = 6,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        verify: ssl.SSLContext | bool = True
        if ca_bundle is not None:
            if not Path(ca_bundle).is_file():
                raise UsageError(f"CA bundle {ca_bundle} does not exist")
            verify = ssl.create_default_context(cafile=ca_bundle)
        self._client = client or httpx.Client(timeout=timeout, verify=verify, follow_redirects=False)
        self._owns = client is None
        self.max_429_retries = max_429_retries
        self.max_wait = max_wait
        self.sleep = sleep

    @classmethod
    def from_config(cls, system: SystemConfig, **kwargs: Any) -> HttpSender:
        """A sender for a configured system (token from ``token_env``/``token_file``, never logged)."""
        if not system.base_url:
            raise ConfigError(f"systems.{system.name}.base_url is not set")
        ca_bundle = str(system.ca_bundle) if system.ca_bundle else None
        return cls(system.base_url, system.token(), timeout=system.timeout, ca_bundle=ca_bundle, **kwargs)

    def close(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._owns:
            self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request; retried only on 429 (after Retry-After)."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        sent_headers = {
            "Accept": f"{SCIM_JSON}, application/json",
            **({"Content-Type": SCIM_JSON} if content is not None else {}),
            **(headers or {}),
            **self._auth,
        }
        waited = 0.0
        for attempt in range(self.max_429_retries + 1):
            try:
                response = self._client.request(
                    method, url, content=content, headers=sent_headers, params=params
                )
            except httpx.TimeoutException as exc:
                return Reply(None, {}, b"", f"no answer from {url}: timed out ({type(exc).__name__})", waited)
            except httpx.TransportError as exc:
                return Reply(None, {}, b"", f"no answer from {url}: {type(exc).__name__}", waited)
            if response.status_code == 401:
                raise ScimError("the server refused the credentials (401)", url=url, status=401)
            if response.status_code != 429 or attempt == self.max_429_retries:
                return Reply(
                    response.status_code, _safe_headers(response.headers), response.content, None, waited
                )
            delay = min(self.max_wait, retry_after(response.headers.get("Retry-After"), attempt))
            waited += delay
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else exponential backoff."""
    if value:
        text = value.strip()
        if text.isdigit():
            return float(text)
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return float(min(60, 2**attempt))


def _safe_headers(headers: httpx.Headers) -> dict[str, str]:
    keep = ("content-type", "location", "etag", "retry-after", "content-length")
    return {name: value for name, value in headers.items() if name.lower() in keep}


def filter_literal(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string rules)."""
    return orjson.dumps(value).decode("utf-8")


def single_result(operation: BulkOperation, reply: Reply) -> OperationResult:
    """The answer to one single request, in the shape of a BulkResponse operation."""
    assert reply.status is not None
    body = reply.json()
    meta = body.get("meta") if isinstance(body, dict) else None
    location = reply.headers.get("location") or reply.headers.get("Location")
    if location is None and isinstance(meta, dict) and isinstance(meta.get("location"), str):
        location = meta["location"]
    if location is None and operation.method != "POST" and 200 <= reply.status < 300:
        location = operation.path
    version = reply.headers.get("etag") or reply.headers.get("ETag")
    if version is None and isinstance(meta, dict) and isinstance(meta.get("version"), str):
        version = meta["version"]
    error = None
    if not 200 <= reply.status < 300:
        error = (
            body
            if isinstance(body, dict)
            else {"status": str(reply.status), "detail": reply.text[:200] or None}
        )
    return OperationResult(operation.method, operation.bulk_id, location, version, reply.status, error)
