"""The base of the simulator's JSON HTTP servers on 127.0.0.1 (the Okta pages, the served export,
and the tests' Graph and Okta fakes): quiet, HTTP/1.1, one JSON answer per request."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["POLL_SECONDS", "JsonHandler"]

# How often a server thread's ``serve_forever`` looks for ``shutdown()``: socketserver's default
# (0.5 s) made every stop wait 0.25 s on average, in the demo's stages and in each test's fake.
POLL_SECONDS = 0.05


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers with JSON bodies of a declared content type."""

    protocol_version = "HTTP/1.1"
    content_type = "application/json"
    # The headers and the body go out in two writes on a kept-alive connection: with Nagle's
    # algorithm the body waited for the client's delayed ACK of the headers (~40 ms a response).
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(body).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        """An answer whose JSON body is already written (e.g. pages kept as bytes)."""
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
