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

Every request is recorded (method, path, headers) in ``requests``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    give_up: float = (
        20.0  # trickle_headers/stall hang up after this, so a regression fails a test, not hangs it
    )
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

    def do_GET(self) -> None:
        behaviour = self.server.behaviour
        behaviour.requests.append(("GET", self.path, dict(self.headers)))
        path = self.path.split("?", 1)[0]
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
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
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


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[str]:
    """Serve ``behaviour`` on 127.0.0.1; yields the base URL (``http://127.0.0.1:PORT/v2``)."""
    server = _Server(behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v2"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


__all__ = ["Behaviour", "hostile_server"]
