"""A local HTTP receiver on 127.0.0.1 that records every request (a Pushgateway or a chat webhook).

A real Pushgateway is not needed to test a push: it accepts ``PUT /metrics/job/<job>`` with the
text exposition format and answers 200; a Slack/Teams incoming webhook accepts a JSON POST and
answers 200. ``status`` and ``delay`` make it answer otherwise (an error, a timeout).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from recon.simulate.json_handler import POLL_SECONDS


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Serve on a free port of 127.0.0.1 in a thread; records requests in ``.requests``."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state = box[0]
            state.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
            if state.delay:
                time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_PUT = _record
        do_POST = _record

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
