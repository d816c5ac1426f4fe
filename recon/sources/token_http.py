"""Token endpoints held to recon's limits: Entra sign-in through MSAL, and Okta's OAuth token.

A token endpoint is a server recon does not control like any other, so its answers meet the
same bounds as a SCIM page (:mod:`recon.limits`): the whole exchange ends by
``RECON_RESPONSE_DEADLINE`` (a trickled status line, headers or body included, see
:mod:`recon.scim.bounded`), an answer is at most ``RECON_MAX_TOKEN_BYTES`` (1 MiB: a token
answer is a few KB) on the wire and after decompression, and its JSON at most
``RECON_MAX_JSON_DEPTH`` deep. An answer that is not a JSON object (an HTML login or proxy
page, bytes that are not UTF-8) and an access token that cannot travel in a header are refused
here, with one line naming the endpoint, before any library parses or logs them. Token requests
are not retried: a refused sign-in is reported, not hammered.

:class:`MsalSession` is the ``http_client`` MSAL accepts: its documented interface
(``msal.oauth2cli.http.HttpClient``) is ``get``/``post`` returning an object with
``status_code``, ``text``, ``headers`` and ``raise_for_status()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from recon.errors import ConfigError, ScimError
from recon.limits import LimitExceeded, check_depth, limits, size_text
from recon.safe_text import check_token, one_line
from recon.scim.bounded import (
    BodyOverCap,
    DeadlinePassed,
    UnsupportedEncoding,
    bound_client,
    exchange_deadline,
    read_body,
)
from recon.scim.client import describe_transport_error, redact_url

__all__ = [
    "MsalSession",
    "TokenAnswer",
    "access_token",
    "token_exchange",
    "token_json",
    "token_lifetime",
]


@dataclass(frozen=True)
class TokenAnswer:
    """A token endpoint's answer, read whole within the limits."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # without credentials, for messages


def token_exchange(http: httpx.Client, what: str, method: str, url: str, **options: Any) -> TokenAnswer:
    """Send one request to a token endpoint through ``http`` (made to obey the deadline) and read
    the answer within the limits. Raises :class:`ScimError` naming ``what``, the URL and the limit.

    ``options`` are ``httpx.Client.build_request``'s (``params``, ``data``, ``content``, ``headers``).
    """
    bounds = limits()
    cap = bounds.max_token_bytes
    shown = redact_url(url)
    bound_client(http)
    try:
        request = http.build_request(method, url, **options)
    except httpx.HTTPError as exc:
        raise ScimError(f"{what}: cannot send the request ({type(exc).__name__})", url=shown) from None
    with exchange_deadline(bounds.response_deadline) as deadline:
        try:
            response = http.send(request, stream=True)
        except httpx.TimeoutException:
            if not deadline.passed():
                raise ScimError(f"{what} timed out waiting for the server", url=shown) from None
            raise ScimError(
                f"{what}: no complete status line and headers after {deadline.seconds:g} s; "
                "the limit is RECON_RESPONSE_DEADLINE",
                url=shown,
            ) from None
        except httpx.HTTPError as exc:
            raise ScimError(f"{what} failed: {describe_transport_error(exc)}", url=shown) from None
        try:
            body = read_body(response, cap, deadline)
        except BodyOverCap as exc:
            raise ScimError(
                f"{what}: HTTP {response.status_code} answer over {size_text(cap)} ({exc.where}); "
                "the limit is RECON_MAX_TOKEN_BYTES",
                url=shown,
            ) from None
        except DeadlinePassed as exc:
            raise ScimError(
                f"{what}: HTTP {response.status_code} answer still arriving after {deadline.seconds:g} s "
                f"({exc.wire:,} bytes of body so far); the limit is RECON_RESPONSE_DEADLINE",
                url=shown,
            ) from None
        except UnsupportedEncoding as exc:
            raise ScimError(
                f"{what}: unsupported Content-Encoding {one_line(str(exc), 40)!r}", url=shown
            ) from None
        except httpx.HTTPError as exc:
            raise ScimError(
                f"{what}: HTTP {response.status_code} answer broken off: {describe_transport_error(exc)}",
                url=shown,
            ) from None
        finally:
            response.close()
    return TokenAnswer(response.status_code, response.headers, body, shown)


def token_json(answer: TokenAnswer, what: str) -> dict[str, Any]:
    """The answer's JSON object; anything else (empty, HTML, not UTF-8, too deep, not JSON, not an
    object) is a :class:`ScimError` naming ``what``, the status and the URL — never the body."""
    status = f"HTTP {answer.status}"
    body = answer.body
    if not body.strip():
        raise ScimError(f"{what}: {status} with an empty body, not a JSON object", url=answer.url)
    content_type = answer.headers.get("Content-Type", "").lower()
    if "html" in content_type or body.lstrip()[:1] == b"<":
        raise ScimError(
            f"{what}: {status} answered with an HTML page, not JSON (a proxy or login page? "
            "check the system's URLs)",
            url=answer.url,
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScimError(
            f"{what}: {status} body is not UTF-8 (byte {exc.start:,}), so not JSON", url=answer.url
        ) from None
    try:
        check_depth(body, limits().max_json_depth, "body")
    except LimitExceeded as exc:
        raise ScimError(f"{what}: {status} {str(exc).removeprefix('body: ')}", url=answer.url) from None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ScimError(f"{what}: {status} body is not JSON ({len(body):,} bytes)", url=answer.url) from None
    if not isinstance(value, dict):
        raise ScimError(
            f"{what}: {status} body is a JSON {type(value).__name__}, not an object", url=answer.url
        )
    return value


def access_token(value: Any, what: str, url: str) -> str:
    """``value`` if it is a token that can travel in an ``Authorization`` header (never printed)."""
    if not isinstance(value, str) or not value:
        raise ScimError(f"{what} answered no access_token string", url=url)
    try:
        return check_token(value, "the access token")
    except ConfigError:
        raise ScimError(
            f"{what} answered an access token that cannot travel in an HTTP header "
            "(a space, line break, control or non-ASCII character); refused",
            url=url,
        ) from None


def token_lifetime(value: Any, what: str, url: str) -> float:
    """Seconds an access token lives, from ``expires_in`` (3600 when absent, at most a day).

    A number or a string of digits (Entra once sent strings); anything else is refused: MSAL
    would fail on it with a bare ``int()`` error, and a lifetime recon cannot read could make it
    ask for a token before every request.
    """
    if value is None:
        return 3600.0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ScimError(f"{what} answered an expires_in that is not a number of seconds", url=url)
    return float(min(value, 86_400))


class _MsalResponse:
    """What MSAL reads of an answer (``msal.oauth2cli.http.Response``)."""

    def __init__(self, answer: TokenAnswer, what: str) -> None:
        self.status_code = answer.status
        self.headers = dict(answer.headers.items())
        self.text = answer.body.decode("utf-8", errors="replace")
        self._answer = answer
        self._what = what

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise ScimError(f"{self._what}: HTTP {self.status_code}", url=self._answer.url)


class MsalSession:
    """The HTTP client MSAL uses: httpx within recon's limits, TLS verified with ``ca_bundle``.

    MSAL parses what it gets with ``json.loads`` and logs a body it cannot parse, so every
    answer it would parse is checked first (:func:`token_json`): the token endpoint's (``post``)
    always, a discovery document (``get``) when its status is 2xx. A 5xx is an error here, with
    the endpoint named (MSAL would only say ``HTTP Error: 503``). Redirects are not followed.
    """

    def __init__(self, ca_context: Any, timeout: float) -> None:
        self._http = bound_client(httpx.Client(verify=ca_context, timeout=timeout, follow_redirects=False))

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> _MsalResponse:
        return self._answer("Entra sign-in discovery", "GET", url, params=params, headers=headers)

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> _MsalResponse:
        body: dict[str, Any]
        if isinstance(data, str | bytes):
            body = {"content": data}
        else:  # a form; MSAL gives the client assertion as bytes, which httpx would send as "b'…'"
            body = {"data": {k: v.decode() if isinstance(v, bytes) else v for k, v in (data or {}).items()}}
        return self._answer("Entra token endpoint", "POST", url, params=params, headers=headers, **body)

    def _answer(self, what: str, method: str, url: str, **options: Any) -> _MsalResponse:
        answer = token_exchange(self._http, what, method, url, **options)
        if answer.status >= 500:
            raise ScimError(f"{what}: HTTP {answer.status}", url=answer.url, status=answer.status)
        if 300 <= answer.status < 400:
            raise ScimError(f"{what}: HTTP {answer.status} redirect, not followed", url=answer.url)
        if method == "POST" or 200 <= answer.status < 300:
            value = token_json(answer, what)
            if method == "POST" and "access_token" in value:
                token_lifetime(value.get("expires_in"), what, answer.url)
        return _MsalResponse(answer, what)

    def close(self) -> None:
        self._http.close()
