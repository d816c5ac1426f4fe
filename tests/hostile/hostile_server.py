"""A hostile SCIM server on 127.0.0.1 (real sockets, one thread per connection).

It answers discovery with 404 (recon then knows nothing and asks plainly) and lists /Users
according to ``mode``; each mode is something a careless or hostile server does and a
well-behaved SCIM server (scim2-server) cannot be made to do:

- ``ok``: one honest page of ``users`` users;
- ``bomb``: a page sent with ``Content-Encoding: gzip`` that inflates to ``size`` bytes;
- ``huge``: a plain page of ``size`` bytes;
- ``trickle``: a valid page sent one byte every ``interval`` seconds (so a read timeout,
  which restarts on every byte, never fires);
- ``trickle_headers``: the status line, then the headers one byte every ``interval`` seconds
  (the body is never reached: only a deadline on the whole exchange ends it);
- ``stall``: the status line and headers of a page, then nothing (the connection stays open);
  both hang up after ``give_up`` seconds;
- ``deep``: a page with one attribute nested ``depth`` levels;
- ``error``: HTTP 400 whose SCIM ``detail`` holds line breaks and ANSI escapes.

Token endpoints (``POST …/oauth2/v1/token`` as Okta's, ``POST …/oauth2/v2.0/token`` as the
Microsoft identity platform's) answer according to ``token``, and OpenID discovery
(``GET …/v2.0/.well-known/openid-configuration``, which MSAL reads first) according to
``discovery``: ``ok`` (a token, or a document naming this server's token endpoint),
``trickle_headers``, ``stall``, ``huge`` and ``bomb`` (``size`` bytes), ``deep`` (``depth``),
``html`` (a sign-in page with status 200), ``latin1`` (JSON encoded in ISO-8859-1),
``bad_token`` (an access token holding a line break), ``bad_expiry`` (``expires_in`` not a
number). With ``tls`` (a certificate and key file) the server speaks https, as MSAL requires.

Every request is recorded (method, path, headers) in ``requests``.
"""

from __future__ import annotations

import functools
import json
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from recon.simulate.json_handler import POLL_SECONDS

TOKEN_ISSUED = "issued-access-token-0123456789"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@dataclass
class Behaviour:
    mode: str = "ok"
    users: int = 3
    size: int = 64 * 2**20
    interval: float = 0.05
    depth: int = 300
    detail: str = "bad filter\n\x1b[31mRED\x1b[0m\rmore"
    extra: dict[str, Any] = field(default_factory=dict)  # ok mode: merged into the first user
    honest: int = 0  # /Users requests answered as in ok mode (with ``total``) before ``mode`` applies
    total: int | None = None  # ok mode: the totalResults announced (default: the users sent)
    token: str = "ok"  # how the token endpoints answer (see the module docstring)
    discovery: str = "ok"  # how OpenID discovery answers
    # trickle_headers/stall hang up after this, so a regression fails a test instead of hanging it
    give_up: float = 20.0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


def _user(n: int, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "id": f"u{n:04d}", "userName": f"user{n}@example.com", **extra}


def _page(resources: list[dict[str, Any]], total: int | None = None) -> bytes:
    return json.dumps(
        {
            "schemas": [LIST],
            "totalResults": len(resources) if total is None else total,
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    ).encode()


@functools.lru_cache(maxsize=2)
def _bomb(size: int) -> bytes:
    """gzip of a page padded with ``size`` bytes of spaces (compresses about 1000:1)."""
    head = b'{"schemas": ["' + LIST.encode() + b'"], "Resources": [], "pad": "'
    out = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [out.compress(head)]
    block = b" " * 2**20
    for _ in range(size // len(block)):
        parts.append(out.compress(block))
    parts.append(out.compress(b'"}'))
    parts.append(out.flush())
    return b"".join(parts)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        behaviour = self.server.behaviour
        behaviour.requests.append(("POST", self.path, dict(self.headers)))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.endswith(("/oauth2/v1/token", "/oauth2/v2.0/token")):
            return self._send(404, b'{"error": "not_found"}')
        token = {"token_type": "Bearer", "expires_in": 3600, "access_token": TOKEN_ISSUED}
        return self._misbehave(behaviour.token, token)

    def _misbehave(self, mode: str, honest: dict[str, Any]) -> None:
        """Answer ``honest`` (a JSON object) as ``mode`` says (see the module docstring)."""
        behaviour = self.server.behaviour
        if mode == "ok":
            return self._send(200, json.dumps(honest).encode())
        if mode in ("trickle_headers", "stall"):
            return self._stall(mode, json.dumps(honest).encode(), behaviour.interval)
        if mode == "huge":
            return self._send(200, json.dumps({**honest, "pad": "x" * behaviour.size}).encode())
        if mode == "bomb":
            return self._send(200, _bomb(behaviour.size), {"Content-Encoding": "gzip"})
        if mode == "deep":
            return self._send(200, b'{"a": ' + b"[" * behaviour.depth + b"]" * behaviour.depth + b"}")
        if mode == "html":
            page = b"<!DOCTYPE html><html><body><form>Sign in\n\x1b[31m</form></body></html>"
            return self._send(200, page, {"Content-Type": "text/html"})
        if mode == "latin1":
            return self._send(
                200, json.dumps({**honest, "note": "café"}, ensure_ascii=False).encode("latin-1")
            )
        if mode == "bad_token":
            return self._send(200, json.dumps({**honest, "access_token": "abc\r\nX-Injected: 1"}).encode())
        if mode == "bad_expiry":
            return self._send(200, json.dumps({**honest, "expires_in": "banana"}).encode())
        raise AssertionError(mode)

    def do_GET(self) -> None:
        behaviour = self.server.behaviour
        behaviour.requests.append(("GET", self.path, dict(self.headers)))
        path = self.path.split("?", 1)[0]
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = f"{self.server.base_url}/{path.split('/')[1]}"
            document = {
                "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{tenant}/v2.0",
            }
            return self._misbehave(behaviour.discovery, document)
        if not path.endswith(("/Users", "/Groups")):
            return self._send(404, b'{"detail": "not here"}')
        honest = path.endswith("/Users") and behaviour.honest > 0
        if honest:
            behaviour.honest -= 1
        if path.endswith("/Groups") or behaviour.mode == "ok" or honest:
            users = [] if path.endswith("/Groups") else [_user(n) for n in range(behaviour.users)]
            if users:
                users[0].update(behaviour.extra)
            return self._send(200, _page(users, None if path.endswith("/Groups") else behaviour.total))
        mode = behaviour.mode
        if mode == "bomb":
            return self._send(200, _bomb(behaviour.size), {"Content-Encoding": "gzip"})
        if mode == "huge":
            pad = "x" * behaviour.size
            return self._send(200, _page([_user(0, title=pad)]))
        if mode == "deep":
            value: Any = 1
            for _ in range(behaviour.depth):
                value = {"a": value}
            return self._send(200, _page([_user(0, x=value)]))
        if mode == "error":
            body = json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400",
                    "detail": behaviour.detail,
                }
            ).encode()
            return self._send(400, body)
        if mode in ("trickle_headers", "stall"):
            return self._stall(mode, _page([_user(0)]), behaviour.interval)
        if mode == "trickle":
            body = _page([_user(n) for n in range(behaviour.users)])
            self.send_response(200)
            self.send_header("Content-Type", "application/scim+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    if self.server.stopping.is_set():
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(behaviour.interval)
            except OSError:
                return
            return None
        raise AssertionError(mode)

    def _stall(self, mode: str, body: bytes, interval: float) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\n"
            + "".join(f"X-Padding-{n}: {'x' * 60}\r\n" for n in range(100))
            + f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            give_up = time.monotonic() + self.server.behaviour.give_up
            if mode == "stall":
                self.wfile.write(head)
                self.wfile.flush()
                self.server.stopping.wait(self.server.behaviour.give_up)
                return
            self.wfile.write(head[:17])  # the status line
            for byte in head[17:]:
                if self.server.stopping.wait(interval) or time.monotonic() > give_up:
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/scim+json", **(headers or {})}
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        with suppress(OSError):  # the client may hang up on a page over its limit
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.base_url = ""


@contextmanager
def hostile_server(behaviour: Behaviour, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve ``behaviour`` on 127.0.0.1; yields the base URL (``http://127.0.0.1:PORT/v2``, or
    ``https://`` with ``tls``: the certificate and key files)."""
    server = _Server(behaviour)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    server.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield f"{server.base_url}/v2"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


__all__ = ["TOKEN_ISSUED", "Behaviour", "hostile_server"]
