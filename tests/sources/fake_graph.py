"""A local fake of Microsoft Graph v1.0 and the Microsoft identity platform token endpoint: the
simulator's Graph pages (:mod:`recon.simulate.graph_pages`, whose docstring lists the documented
behaviours each part reproduces — the same server ``recon demo --idp entra`` runs) with the
test's credentials and these fault knobs on ``state``:

- ``throttle``: request numbers answered 429 ``TooManyRequests`` with ``Retry-After``
  (``retry_after``, seconds) (Graph throttling guidance);
- ``token_uses``: a token stops working after that many requests (401
  ``InvalidAuthenticationToken``), as an access token that expires mid-crawl does;
- ``reject_tokens_after``: every token, old or new, is refused from that request number on (401),
  as when the app's consent is withdrawn mid-crawl: a renewed token is refused too;
- ``refuse_tokens_after``: the token endpoint refuses further tokens (a revoked secret);
- ``drop_from_delta``: ids a delta round leaves out (a change Graph failed to report);
- ``count_lag``: ``/users/$count`` answers that many more users than are listed (an eventually
  consistent count that has not caught up with deletions).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory import Directory

from recon.simulate.graph_pages import GraphError, GraphState, ServedGraph
from recon.simulate.graph_pages import serve_graph as serve_graph_pages

__all__ = ["APP_ID", "CLIENT_ID", "CLIENT_SECRET", "TENANT", "FaultyGraph", "ServedGraph", "serve_graph"]

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "graph-client-secret-value-0123456789"
APP_ID = "99999999-aaaa-bbbb-cccc-dddddddddddd"


@dataclass
class FaultyGraph(GraphState):
    """The simulator's Graph state with the test's fault knobs (see the module docstring)."""

    throttle: set[int] = field(default_factory=set)
    retry_after: str = "0"
    token_uses: int | None = None
    reject_tokens_after: int | None = None
    refuse_tokens_after: int | None = None
    drop_from_delta: set[str] = field(default_factory=set)
    count_lag: int = 0
    throttled: int = 0
    expired: int = 0

    def fault(self, number: int, token: str | None, uses: int | None) -> GraphError | None:
        if number in self.throttle:
            self.throttled += 1
            return 429, "TooManyRequests", "Too many requests", {"Retry-After": self.retry_after}
        rejected = self.reject_tokens_after is not None and number >= self.reject_tokens_after
        if uses is not None and (rejected or (self.token_uses is not None and uses >= self.token_uses)):
            self.expired += 1
            return 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", {}
        return None

    def count(self, path: str, objects: int) -> int:
        return objects + self.count_lag if path == "/users/$count" else objects

    def refuse_token(self) -> bool:
        return self.refuse_tokens_after is not None and self.tokens_issued >= self.refuse_tokens_after

    def left_out_of_delta(self, object_id: str) -> bool:
        return object_id in self.drop_from_delta


@contextmanager
def serve_graph(directory: Directory, tls_dir: Path, **options: Any) -> Iterator[ServedGraph]:
    """Run the fake on 127.0.0.1 (TLS) in a thread; ``url`` serves both login and Graph."""
    with serve_graph_pages(
        directory,
        tls_dir,
        state_type=FaultyGraph,
        tenant=TENANT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_id=APP_ID,
        **options,
    ) as served:
        yield served
