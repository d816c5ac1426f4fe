"""The provider HTTP client: recon's SCIM client plus provider tokens and rate headers.

Retries, 429 with ``Retry-After``, 5xx, timeouts, truncated bodies and redaction are the SCIM
client's (:class:`recon.scim.client.ScimClient`), so every system kind behaves the same.
Added here:

- the ``Authorization`` header comes from a :class:`~recon.sources.auth.TokenSource`; a 401
  renews the token and tries again (once per rejection, at most ``max_renewals`` times in a
  crawl); a token that cannot be renewed (Okta SSWS), or a 401 again with the renewed token,
  ends the crawl;
- Okta's rate-limit headers (``X-Rate-Limit-Limit/-Remaining/-Reset``, the reset an epoch
  second): a 429 without ``Retry-After`` waits until ``X-Rate-Limit-Reset``, and when
  ``X-Rate-Limit-Remaining`` reaches 0 the next request waits for the reset instead of
  drawing a 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from recon.errors import ScimError
from recon.scim.bounded import bound_transport
from recon.scim.client import RetryPolicy, ScimClient
from recon.sources.auth import TokenSource, ssl_context

__all__ = ["ProviderClient", "RateHeaders"]


class RateHeaders(httpx.BaseTransport):
    """Gives a 429 that only carries ``X-Rate-Limit-Reset`` the equivalent ``Retry-After``."""

    def __init__(self, inner: httpx.BaseTransport, clock: Callable[[], float] = time.time) -> None:
        self._inner = inner
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code == 429 and "Retry-After" not in response.headers:
            reset = _int(response.headers.get("X-Rate-Limit-Reset"))
            if reset is not None:
                response.headers["Retry-After"] = str(max(0, reset - int(self._clock())) + 1)
        return response

    def close(self) -> None:
        self._inner.close()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _provider_detail(body: Any) -> str | None:
    """``code: message`` from a Graph error (``{"error": {...}}``) or an Okta one (``errorCode``)."""
    if not isinstance(body, dict):
        return None
    graph = body.get("error")
    if isinstance(graph, dict) and isinstance(graph.get("code"), str):
        return f"{graph['code']}: {str(graph.get('message') or '')[:200]}"
    if isinstance(body.get("errorCode"), str):
        return f"{body['errorCode']}: {str(body.get('errorSummary') or '')[:200]}"
    return None


class ProviderClient:
    """GET JSON pages from Graph or the Okta API with a provider token."""

    def __init__(
        self,
        base_url: str,
        auth: TokenSource,
        *,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        rate_limit: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_renewals: int = 20,
    ) -> None:
        inner = transport or bound_transport(httpx.HTTPTransport(verify=ssl_context(ca_bundle), retries=0))
        self.auth = auth
        self._sleep = sleep
        self._clock = clock
        self.max_renewals = max_renewals
        self.rate_waits = 0
        self.scim = ScimClient(
            base_url,
            None,
            transport=RateHeaders(inner, clock),
            timeout=timeout,
            policy=RetryPolicy(max_retries=max_retries),
            rate_limit=rate_limit,
            sleep=sleep,
        )

    @property
    def base_url(self) -> str:
        return self.scim.base_url

    def close(self) -> None:
        """Close the HTTP clients (the token source's too, when it has one)."""
        self.scim.close()
        closer = getattr(self.auth, "close", None)
        if callable(closer):
            closer()

    def redact(self, text: str) -> str:
        """``text`` without any secret the token source holds."""
        for secret in self.auth.secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def get(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, Any]:
        """GET ``url`` (absolute, or relative to the base URL) with extra ``headers``; (response,
        JSON body) on 200.

        Raises :class:`ScimError` (secrets redacted) on any other final status.
        """
        self._check_origin(url)
        response = self._authorised_get(url, params, headers)
        self._respect_remaining(response)
        # a body cut short is asked for again: with the provider token, which the SCIM client lacks
        response, body = self.scim.read_json(
            response,
            "GET",
            url,
            params=params,
            headers={**(headers or {}), "Authorization": self.auth.header()},
        )
        if response.status_code != 200:
            error = self._rewrap(self.scim.status_error(response))
            detail = _provider_detail(body)
            if detail:
                error = ScimError(
                    self.redact(f"HTTP {response.status_code} ({detail})"),
                    url=error.url,
                    status=response.status_code,
                )
            raise error
        return response, body

    def get_text(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> str:
        """GET a ``text/plain`` answer (Graph's ``$count``): its text, without a UTF-8 byte-order
        mark (OData services may send one). Raises :class:`ScimError` on any status but 200."""
        self._check_origin(url)
        response = self._authorised_get(url, params, headers)
        self._respect_remaining(response)
        if response.status_code != 200:
            error = self._rewrap(self.scim.status_error(response))
            try:
                detail = _provider_detail(orjson.loads(response.content))
            except orjson.JSONDecodeError:
                detail = None
            if detail:
                error = ScimError(
                    self.redact(f"HTTP {response.status_code} ({detail})"),
                    url=error.url,
                    status=response.status_code,
                )
            raise error
        return response.content.decode("utf-8-sig", errors="replace").strip()

    def _check_origin(self, url: str) -> None:
        """Refuse an absolute URL on another origin than the base URL's before the token is sent.

        Next and delta links come from the server's answers and stored manifests; following one to
        another host would hand it the token.
        """
        if not url.startswith(("http://", "https://")):
            return
        base, target = httpx.URL(self.scim.base_url), httpx.URL(url)
        if (base.scheme, base.host, base.port) != (target.scheme, target.host, target.port):
            port = f":{target.port}" if target.port else ""
            raise ScimError(
                f"refused to follow a link to {target.scheme}://{target.host}{port}: not the origin of "
                f"{self.redact(str(base))} (the token is only sent there)"
            )

    def _authorised_get(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """GET with the current token. A 401 renews the token and tries once more (within
        ``max_renewals`` for the crawl); a 401 with the renewed token ends it: a token that expired
        is renewed, a token that is refused whatever it is (consent withdrawn) is not asked for again."""
        renewed = False
        while True:
            try:
                header = self.auth.header()
            except ScimError as exc:
                raise self._rewrap(exc) from None
            try:
                return self.scim.request(
                    "GET", url, params=params, headers={**(headers or {}), "Authorization": header}
                )
            except ScimError as exc:
                if exc.status != 401:
                    raise self._rewrap(exc) from None
                if renewed:
                    raise self._rewrap(
                        ScimError(f"{exc} (refused again with a renewed token)", url=exc.url, status=401)
                    ) from None
                if self.auth.refreshes < self.max_renewals and self.auth.renew():
                    renewed = True
                    continue
                raise self._rewrap(exc) from None

    def _rewrap(self, exc: ScimError) -> ScimError:
        """The same error with every provider secret redacted (the URL is in the message)."""
        error = ScimError(self.redact(str(exc)), status=exc.status, scim_type=exc.scim_type)
        error.url = self.redact(exc.url) if exc.url else None
        return error

    def _respect_remaining(self, response: httpx.Response) -> None:
        remaining = _int(response.headers.get("X-Rate-Limit-Remaining"))
        reset = _int(response.headers.get("X-Rate-Limit-Reset"))
        if remaining == 0 and reset is not None:
            wait = min(max(0.0, reset - self._clock()) + 0.05, self.scim.policy.max_retry_after)
            if wait > 0:
                self.rate_waits += 1
                self.scim.stats.waited_seconds += wait
                self._sleep(wait)

    def stats(self) -> dict[str, Any]:
        """What the client did (for the manifest's origin)."""
        return {
            **self.scim.stats.to_json(),
            "token_renewals": self.auth.refreshes,
            "rate_limit_waits": self.rate_waits,
        }

    def pages(
        self,
        url: str,
        params: dict[str, Any] | None,
        next_of: Callable[[httpx.Response, Any], str | None],
        max_pages: int = 1_000_000,
    ) -> Iterator[tuple[httpx.Response, Any]]:
        """Follow a provider's paging from ``url``: each (response, body) until ``next_of`` gives None.

        The next page is requested (on a worker thread) as soon as its link is known, while the
        caller works on the current one. A next link seen before (a loop) or more than
        ``max_pages`` pages raise :class:`ScimError`, in the caller's thread, in page order.
        """
        seen: set[str] = set()
        count = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-next-page") as pool:
            pending: Future[tuple[httpx.Response, Any]] | None = pool.submit(self.get, url, params)
            while pending is not None:
                response, body = pending.result()
                count += 1
                link = next_of(response, body)
                pending = None
                error: ScimError | None = None
                if link is not None:
                    if link in seen:
                        error = ScimError(
                            self.redact(f"paging loop: the next link repeats after {count} pages"),
                            url=self.redact(link),
                        )
                    elif count >= max_pages:
                        error = ScimError(f"stopped after {count} pages (limit)", url=self.redact(link))
                    else:
                        seen.add(link)
                        pending = pool.submit(self.get, link, None)
                yield response, body
                if error is not None:
                    raise error
