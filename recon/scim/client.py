"""The SCIM HTTP client: auth, retries with backoff, Retry-After, a client-side rate limit.

Policy (one place, so every caller behaves the same):

- retried: 429 (waiting ``Retry-After`` when given, in seconds or as an HTTP date), 500, 502,
  503, 504, timeouts, connection resets and other transport errors, and a body that does not
  parse as JSON although it claims to (a truncated page). Waits grow exponentially from
  ``backoff_base`` up to ``backoff_cap`` with jitter; ``max_retries`` retries, then
  :class:`~recon.errors.ScimError`.
- not retried: 4xx other than 429 (401/403 name the token setting), 501, redirects (a
  redirect from a SCIM endpoint is usually a login page), and an HTML page with status 200.
- a connection refused before any request succeeded fails after one retry: the URL is wrong
  or the server is down, and waiting a minute helps nobody.

The bearer token travels only in the ``Authorization`` header and is redacted from every
message this module produces, as is any ``user:password@`` in a URL.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from recon import __version__
from recon.errors import ScimError, UsageError
from recon.limits import LimitExceeded, check_depth, limits, size_text
from recon.safe_text import check_token, one_line
from recon.scim.bounded import (
    BodyOverCap,
    Deadline,
    DeadlinePassed,
    UnsupportedEncoding,
    bound_client,
    exchange_deadline,
    read_body,
)
from recon.scim.pages import Page, PageRequest, parse_list_response
from recon.scim.paging import CursorPaginator, IndexPaginator
from recon.scim.stream import PageStream

__all__ = [
    "RETRYABLE_STATUS",
    "ClientStats",
    "RetryPolicy",
    "ScimClient",
    "SentPage",
    "describe_transport_error",
    "redact_url",
]

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
SCIM_JSON = "application/scim+json"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a request again."""

    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 300.0  # a longer Retry-After is capped to this

    def backoff(self, attempt: int, rand: Callable[[], float]) -> float:
        """Wait before retry ``attempt`` (0-based): half fixed, half random ("equal jitter")."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return float(ceiling / 2 + rand() * ceiling / 2)


@dataclass(frozen=True)
class SentPage:
    """A page request answered (see :meth:`ScimClient.send_page`), its body not parsed yet."""

    response: httpx.Response
    started: float


@dataclass
class ClientStats:
    """What the client did (for the manifest's origin; no secrets)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers retried
    transport_errors: int = 0  # timeouts, resets, refused
    bad_bodies: int = 0  # JSON that did not parse
    waited_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "bad_bodies": self.bad_bodies,
            "waited_seconds": round(self.waited_seconds, 3),
            "statuses": dict(sorted(self.statuses.items())),
        }


def redact_url(url: str | httpx.URL) -> str:
    """``url`` without a ``user:password@`` part."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return str(parsed)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _RateLimiter:
    """At most ``rate`` requests per second across threads (evenly spaced)."""

    def __init__(self, rate: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._interval = 1.0 / rate
        self._sleep = sleep
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


class ScimClient:
    """A SCIM 2.0 client over ``httpx``; thread-safe (pages may be fetched concurrently).

    Pass ``client`` (an ``httpx.Client`` you own) or ``transport`` (e.g. ``httpx.MockTransport``)
    to control the HTTP layer; otherwise one client is created with TLS verification on
    (``verify`` may name a CA bundle file). ``sleep``/``clock``/``rand`` are injectable so
    tests never wait for real.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        rate_limit: float | None = None,
        verify: bool | str = True,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if verify is False:
            raise UsageError("TLS verification cannot be turned off; give a CA bundle (ca_bundle) instead")
        if rate_limit is not None and rate_limit <= 0:
            raise UsageError(f"rate limit must be a positive number of requests per second, not {rate_limit}")
        self.base_url = base_url.rstrip("/")
        if httpx.URL(self.base_url).scheme not in ("http", "https"):
            raise UsageError(f"base_url {redact_url(self.base_url)!r}: give an http:// or https:// URL")
        self._token = check_token(token, "the bearer token") if token else None
        self._secrets = _secret_forms(self._token)
        self.policy = policy or RetryPolicy(max_retries=max_retries)
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._limiter = _RateLimiter(rate_limit, sleep, clock) if rate_limit else None
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._connected = False
        headers = {
            "Accept": f"{SCIM_JSON}, application/json",
            "Accept-Encoding": "gzip, deflate",  # the encodings recon inflates itself, within its limits
            "User-Agent": f"recon/{__version__}",
        }
        if client is not None:
            self._http = client
            self._owns_http = False
        else:
            context: ssl.SSLContext | bool = True
            if isinstance(verify, str):
                if not Path(verify).is_file():
                    raise UsageError(f"CA bundle {verify} does not exist")
                context = ssl.create_default_context(cafile=verify)
            self._http = httpx.Client(
                transport=transport,
                timeout=timeout,
                verify=context,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            )
            self._owns_http = True
        bound_client(self._http)  # the response deadline covers the whole exchange
        self._headers = headers

    @classmethod
    def from_config(cls, system: Any, **kwargs: Any) -> ScimClient:
        """A client for a ``recon.config.SystemConfig`` (token from ``token_env``/``token_file``)."""
        from recon.errors import ConfigError

        if not system.base_url:
            raise ConfigError(f"systems.{system.name}.base_url is not set")
        options: dict[str, Any] = {
            "timeout": system.timeout,
            "max_retries": system.max_retries,
            "rate_limit": system.rate_limit,
            "verify": str(system.ca_bundle) if system.ca_bundle else True,
        }
        options.update(kwargs)
        return cls(system.base_url, system.token(), **options)

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- redaction ------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` with the token (and URL credentials) replaced by ``***``."""
        for token in self._secrets:  # the token as sent, and as JSON, repr and URLs escape it
            if token not in text:
                continue
            if len(token) >= 8:
                text = text.replace(token, "***")
            else:
                # A short token would also match inside ordinary words: redact it only where it stands alone.
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", "***", text)
        return text

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (an absolute URL is returned as is)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _error(
        self, message: str, url: str, status: int | None = None, scim_type: str | None = None
    ) -> ScimError:
        return ScimError(
            self.redact(message), url=self.redact(redact_url(url)), status=status, scim_type=scim_type
        )

    def _count(self, **deltas: float) -> None:
        with self._stats_lock:
            for name, value in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    # -- requests -------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, retrying per the policy; returns the final response.

        Raises :class:`ScimError` (URL included, token never) when retries run out, on a
        transport error that outlives them, on 401/403, and on a redirect. Other 4xx/501
        answers are returned for the caller to interpret.
        """
        url = self.url(path)
        attempt = 0
        while True:
            wait = self._attempt(method, url, params, json, headers, attempt)
            if isinstance(wait, httpx.Response):
                return wait
            attempt += 1
            self._count(retries=1, waited_seconds=wait)
            self._sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        body: Any,
        headers: dict[str, str] | None,
        attempt: int,
    ) -> httpx.Response | float:
        """One try: the response to return, or the seconds to wait before the next try."""
        if self._limiter is not None:
            self._count(waited_seconds=self._limiter.wait())
        send_headers = dict(self._headers)
        if self._token:
            send_headers["Authorization"] = f"Bearer {self._token}"
        if body is not None:
            send_headers["Content-Type"] = SCIM_JSON
        send_headers.update(headers or {})
        content = orjson.dumps(body) if body is not None else None
        exhausted = attempt >= self.policy.max_retries
        try:
            self._count(requests=1)
            request = self._http.build_request(
                method, url, params=params, content=content, headers=send_headers
            )
            # one deadline for connecting, sending, the status line, the headers and the body
            with exchange_deadline(limits().response_deadline) as deadline:
                try:
                    response = self._http.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    if deadline.passed():
                        raise self._error(
                            f"{method}: no complete status line and headers after {deadline.seconds:g} s; "
                            "not retried; the limit is RECON_RESPONSE_DEADLINE",
                            url,
                        ) from exc
                    raise
                try:
                    self._read_body(response, method, url, deadline)
                finally:
                    response.close()
        except httpx.UnsupportedProtocol as exc:  # cannot succeed on a retry
            raise self._error(f"{method} cannot be sent: {exc}", url) from exc
        except httpx.HTTPError as exc:
            self._count(transport_errors=1)
            refused = isinstance(exc, httpx.ConnectError) and not self._connected
            if exhausted or (refused and attempt >= 1):
                what = describe_transport_error(exc)
                tries = attempt + 1
                raise self._error(f"{method} failed after {tries} attempt(s): {what}", url) from exc
            return self.policy.backoff(attempt, self._rand)
        self._connected = True
        status = response.status_code
        with self._stats_lock:
            self.stats.statuses[str(status)] = self.stats.statuses.get(str(status), 0) + 1
        if status in RETRYABLE_STATUS:
            response.read()
            if exhausted:
                raise self._error(
                    f"{method} gave up after {attempt + 1} attempt(s): last answer HTTP {status}"
                    f"{_detail(response)}",
                    url,
                    status=status,
                )
            if status == 429:
                self._count(throttled=1)
            else:
                self._count(server_errors=1)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.policy.max_retry_after) + self._rand() * 0.1
            return self.policy.backoff(attempt, self._rand)
        if status in (401, 403):
            response.read()
            raise self._error(
                f"authentication failed: HTTP {status}{_detail(response)}; check the bearer token "
                "(token_env / token_file) and its permissions",
                url,
                status=status,
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "?")
            raise self._error(
                f"HTTP {status} redirect to {redact_url(location)} (a login page or a wrong base_url?)",
                url,
                status=status,
            )
        return response

    def _read_body(self, response: httpx.Response, method: str, url: str, deadline: Deadline) -> None:
        """Read the body within the limits (:mod:`recon.limits`): bytes on the wire, bytes after
        decompression, and the exchange deadline (:mod:`recon.scim.bounded`). Over a limit: a
        :class:`ScimError` that is not retried (the same request would meet the same answer)."""
        cap = limits().max_response_bytes
        try:
            read_body(response, cap, deadline)
        except BodyOverCap as exc:
            raise self._error(
                f"{method}: HTTP {response.status_code} body over {size_text(cap)} ({exc.where}); "
                "not retried; the limit is RECON_MAX_RESPONSE_BYTES",
                url,
                status=response.status_code,
            ) from None
        except UnsupportedEncoding as exc:
            raise self._error(
                f"{method}: unsupported Content-Encoding {one_line(str(exc), 40)!r}",
                url,
                status=response.status_code,
            ) from None
        except DeadlinePassed as exc:
            raise self._error(
                f"{method}: HTTP {response.status_code} answer still arriving after "
                f"{deadline.seconds:g} s ({exc.wire:,} bytes of body so far); not retried; "
                "the limit is RECON_RESPONSE_DEADLINE",
                url,
                status=response.status_code,
            ) from None

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` and return its JSON object; raises :class:`ScimError` unless 200 + JSON object."""
        response, value = self.fetch_json("GET", path, params=params)
        if response.status_code != 200:
            raise self.status_error(response)
        if not isinstance(value, dict):
            raise self._error(f"expected a JSON object, got {type(value).__name__}", str(response.url))
        return value

    def fetch_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> tuple[httpx.Response, Any]:
        """Request and parse the body as JSON, retrying bodies that are cut short.

        Returns (response, parsed body or None when the body is empty). An HTML page, or
        non-JSON that keeps arriving after the retries, raises :class:`ScimError`.
        """
        response = self.request(method, path, params=params, json=json)
        return self.read_json(response, method, path, params=params, json=json)

    def read_json(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """The second half of :meth:`fetch_json`: parse ``response`` (asking again while cut short,
        with the same ``headers`` as the first request)."""
        attempt = 0
        while True:
            content = response.content
            if not content.strip():
                return response, None
            content_type = response.headers.get("Content-Type", "").lower()
            if "html" in content_type or content.lstrip()[:1] == b"<":
                raise self._error(
                    f"HTTP {response.status_code} answered with an HTML page, not SCIM JSON "
                    "(a login page or proxy? check base_url and the token)",
                    str(response.url),
                    status=response.status_code,
                )
            bounds = limits()
            try:
                check_depth(content, bounds.max_json_depth, "body")
            except LimitExceeded as exc:
                raise self._error(
                    f"HTTP {response.status_code} {str(exc).removeprefix('body: ')}; not retried",
                    str(response.url),
                    status=response.status_code,
                ) from exc
            try:
                return response, orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                self._count(bad_bodies=1)
                if attempt >= self.policy.max_retries or not _cut_short(exc, content):
                    raise self._error(
                        f"HTTP {response.status_code} body is not valid JSON after {attempt + 1} "
                        f"attempt(s) ({len(content)} bytes; {exc})",
                        str(response.url),
                        status=response.status_code,
                    ) from exc
                wait = self.policy.backoff(attempt, self._rand)
                attempt += 1
                self._count(retries=1, waited_seconds=wait)
                self._sleep(wait)
                response = self.request(method, path, params=params, json=json, headers=headers)

    def status_error(self, response: httpx.Response) -> ScimError:
        """A :class:`ScimError` describing an unexpected status (with the SCIM detail and scimType)."""
        scim_type = None
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            scim_type = body.get("scimType")
        return self._error(
            f"HTTP {response.status_code}{_detail(response)}",
            str(response.url),
            status=response.status_code,
            scim_type=scim_type if isinstance(scim_type, str) else None,
        )

    # -- listing --------------------------------------------------------------------------
    def fetch_page(self, resource: str, request: PageRequest) -> Page:
        """GET one page of ``/{resource}`` as ``request`` describes; raises on non-200."""
        return self.read_page(resource, request, self.send_page(resource, request))

    def send_page(self, resource: str, request: PageRequest) -> SentPage:
        """The HTTP half of :meth:`fetch_page` (retries included), to finish with :meth:`read_page`.

        It holds the GIL little: a thread can send the next page while another parses the last.
        """
        started = time.perf_counter()
        response = self.request("GET", f"/{resource}", params=request.params())
        return SentPage(response, started)

    def read_page(self, resource: str, request: PageRequest, sent: SentPage) -> Page:
        """The parsing half of :meth:`fetch_page`: the body as a checked ListResponse page."""
        response, value = self.read_json(sent.response, "GET", f"/{resource}", params=request.params())
        if response.status_code != 200:
            raise self.status_error(response)
        elapsed = time.perf_counter() - sent.started
        return parse_list_response(
            value,
            resource=resource,
            request=request,
            url=self.redact(redact_url(response.url)),
            body=response.content,
            elapsed=elapsed,
        )

    def list_pages(
        self,
        resource: str,
        *,
        filter: str | None = None,
        page_size: int = 200,
        method: str = "index",
        concurrency: int = 1,
        attributes: str | None = None,
        excluded_attributes: str | None = None,
        max_pages: int | None = None,
    ) -> Iterator[Page]:
        """Iterate the pages of ``/{resource}`` (``Users``, ``Groups``) by ``index`` or ``cursor``.

        The returned :class:`~recon.scim.stream.PageStream` is an iterator that also
        exposes ``anomalies`` and ``incomplete`` once exhausted: it stops on a page loop, a
        cursor that repeats, or a runaway crawl instead of looping forever.
        """
        extra = {
            key: value
            for key, value in (
                ("filter", filter),
                ("attributes", attributes),
                ("excludedAttributes", excluded_attributes),
            )
            if value is not None
        }
        paginator: IndexPaginator | CursorPaginator
        if method == "cursor":
            paginator = CursorPaginator(page_size, extra=extra, max_pages=max_pages)
        elif method == "index":
            paginator = IndexPaginator(page_size, extra=extra, max_pages=max_pages)
        else:
            raise UsageError(f"paging method {method!r}: use index or cursor")
        return PageStream(paginator, lambda request: self.fetch_page(resource, request), concurrency)


def _secret_forms(token: str | None) -> list[str]:
    """``token`` and the other spellings it takes in messages (JSON, repr, percent-encoded), longest first."""
    if not token:
        return []
    forms = {
        token,
        json.dumps(token)[1:-1],
        json.dumps(token, ensure_ascii=False)[1:-1],
        repr(token)[1:-1],
        urllib.parse.quote(token, safe=""),
        urllib.parse.quote_plus(token, safe=""),
    }
    return sorted(forms, key=len, reverse=True)


def _cut_short(exc: orjson.JSONDecodeError, content: bytes) -> bool:
    """True when the JSON error is where the body ends (a page cut short: asking again may help)."""
    return exc.pos >= len(content.rstrip()) - 1


def describe_transport_error(exc: httpx.HTTPError) -> str:
    """What went wrong with a connection, in the user's words (certificates point to ``ca_bundle``)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the server"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return f"TLS certificate not trusted ({text}); give the CA bundle with ca_bundle"
        return f"cannot connect ({text or 'connection refused'})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"connection broken ({exc or type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _detail(response: httpx.Response) -> str:
    """`` (detail)`` from a SCIM error body, if any."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]:
        return f" ({one_line(body['detail'], 200)})"
    return ""
