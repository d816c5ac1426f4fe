"""A local fake of the Okta Management API, on 127.0.0.1, from simulator data.

Each part reproduces a documented behaviour of the Okta Management API reference:

- ``GET /api/v1/users``: without ``filter``/``search`` DEPROVISIONED users are left out
  (listUsers); ``filter=status eq "…"`` and ``filter=lastUpdated gt "…"`` select by status
  or update time; ``limit`` capped at 200; pages linked by ``Link: <…?after=…>; rel="next"``
  (cursor = the last id of the page), no next link on the last page;
- ``GET /api/v1/groups`` (``filter=lastUpdated gt "…" or lastMembershipUpdated gt "…"``),
  ``/api/v1/groups/{id}/users``, ``/api/v1/apps/{id}``, ``/api/v1/apps/{id}/users`` (app users:
  ``scope`` USER or GROUP, ``credentials.userName``, the app profile) and
  ``/api/v1/apps/{id}/groups``;
- authentication: ``Authorization: SSWS <token>``, or ``Bearer`` with a token from
  ``POST /oauth2/v1/token`` (client credentials with a private-key JWT ``client_assertion``,
  checked against the registered public key and audience); an expired token gets 401
  ``E0000011``;
- rate limits: every answer carries ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset``
  (epoch seconds); past ``rate_limit`` requests in a window the answer is 429 ``E0000047``
  with those headers and no ``Retry-After``.
"""

from __future__ import annotations

import bisect
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from directory import Directory, okta_group, okta_user

from recon.simulate.json_handler import POLL_SECONDS, JsonHandler

API_TOKEN = "00okta-api-token-value-0123456789abcdef"
APP_ID = "0oa1slackapp"
CLIENT_ID = "0oa1serviceapp"


@dataclass
class OktaState:
    directory: Directory
    rate_limit: int | None = None  # requests per window before 429
    window: float = 1.0
    token_uses: int | None = None
    revoke_after: int | None = None  # the API token is refused after this many requests
    public_key: Any = None
    requests: int = 0
    throttled: int = 0
    window_start: float = 0.0
    window_count: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""


def _status_filter(expression: str | None, user: dict[str, Any]) -> bool:
    if expression is None:
        return user["status"] != "DEPROVISIONED"
    if expression.startswith("status eq "):
        return bool(user["status"] == expression.split('"')[1])
    if expression.startswith("lastUpdated gt "):
        return bool((user.get("lastUpdated") or "") > _norm(expression.split('"')[1]))
    raise ValueError(expression)


def _norm(stamp: str) -> str:
    """Okta compares instants; the fake compares text with the same second precision."""
    return stamp.replace(".000Z", "Z")


def _group_filter(expression: str | None, group: dict[str, Any]) -> bool:
    if expression is None:
        return True
    stamps = [s.split('"')[1] for s in expression.split(" or ")]
    return any(
        (group.get(f) or "") > _norm(stamp)
        for f, stamp in zip(("lastUpdated", "lastMembershipUpdated"), stamps, strict=False)
    )


class _Handler(JsonHandler):
    state: OktaState

    def do_POST(self) -> None:
        import jwt

        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        state = self.state
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                state.public_key,
                algorithms=["RS256"],
                audience=f"{state.base_url}/oauth2/v1/token",
            )
        except jwt.PyJWTError as exc:
            return self._send(401, {"error": "invalid_client", "error_description": str(exc)})
        if claims.get("iss") != CLIENT_ID or form.get("grant_type") != "client_credentials":
            return self._send(401, {"error": "invalid_client", "error_description": "unknown client"})
        token = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[token] = 0
        self._send(
            200,
            {"token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": form.get("scope")},
        )

    def do_GET(self) -> None:
        state = self.state
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with state.lock:
            state.requests += 1
            now = time.time()
            if now - state.window_start >= state.window:
                state.window_start, state.window_count = now, 0
            state.window_count += 1
            limit = state.rate_limit or 600
            remaining = max(0, limit - state.window_count)
            reset = int(state.window_start + state.window) + 1
            throttled = state.rate_limit is not None and state.window_count > state.rate_limit
            if throttled:
                state.throttled += 1
            auth = self.headers.get("Authorization", "")
            revoked = state.revoke_after is not None and state.requests > state.revoke_after
            ok = auth == f"SSWS {API_TOKEN}" and not revoked
            if auth.startswith("Bearer ") and auth[7:] in state.tokens:
                uses = state.tokens[auth[7:]]
                ok = state.token_uses is None or uses < state.token_uses
                state.tokens[auth[7:]] = uses + 1
            directory = state.directory
        rate = {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset),
        }
        if throttled:
            return self._send(
                429,
                {
                    "errorCode": "E0000047",
                    "errorSummary": "API call exceeded rate limit due to too many requests.",
                },
                rate,
            )
        if not ok:
            return self._send(401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"}, rate)
        self._route(path, query, directory, rate)

    def _items(self, path: str, query: dict[str, str], directory: Directory) -> list[dict[str, Any]] | None:
        """Everything a list endpoint returns for this query, in id order (cached by the caller)."""
        if path == "/api/v1/users":
            items = [okta_user(directory.users[i]) for i in sorted(directory.users)]
            return [u for u in items if _status_filter(query.get("filter"), u)]
        if path == "/api/v1/groups":
            items = [okta_group(directory.groups[i]) for i in sorted(directory.groups)]
            return [g for g in items if _group_filter(query.get("filter"), g)]
        if path.startswith("/api/v1/groups/") and path.endswith("/users"):
            gid = path.split("/")[4]
            return [
                okta_user(directory.users[m["value"]])
                for m in sorted(directory.members(gid), key=lambda m: m["value"])
                if m["value"] in directory.users
            ]
        if path == f"/api/v1/apps/{APP_ID}/users":
            direct = set(directory.assigned_users)
            return [
                {
                    "id": uid,
                    "scope": "USER" if uid in direct else "GROUP",
                    "status": "PROVISIONED",
                    "credentials": {"userName": directory.users[uid].get("userName")},
                    "profile": {},
                }
                for uid in sorted(directory.expected_population())
            ]
        if path == f"/api/v1/apps/{APP_ID}/groups":
            return [{"id": gid, "priority": n} for n, gid in enumerate(directory.assigned_groups)]
        return None

    def _route(self, path: str, query: dict[str, str], directory: Directory, rate: dict[str, str]) -> None:
        limit = min(int(query.get("limit") or 200), 200 if path == "/api/v1/users" else 1000)
        if path == f"/api/v1/apps/{APP_ID}":
            return self._send(200, {"id": APP_ID, "label": "Slack", "signOnMode": "SAML_2_0"}, rate)
        if (
            path.startswith("/api/v1/groups/")
            and path.endswith("/users")
            and path.split("/")[4] not in directory.groups
        ):
            return self._send(404, {"errorCode": "E0000007", "errorSummary": "Not found"}, rate)
        key = (id(directory), path, query.get("filter"))
        with self.state.lock:
            cached = self.state.cache.get(key)
        if cached is None:
            built = self._items(path, query, directory)
            if built is None:
                return self._send(
                    404,
                    {
                        "errorCode": "E0000022",
                        "errorSummary": "The endpoint does not support the provided HTTP method",
                    },
                    rate,
                )
            cached = (built, [item["id"] for item in built])
            with self.state.lock:
                self.state.cache[key] = cached
        items, ids = cached
        after = query.get("after")
        start = bisect.bisect_right(ids, after) if after is not None else 0
        items = items[start : start + limit + 1]
        page = items[:limit]
        headers = dict(rate)
        link = f'<{self.state.base_url}{path}?{urlencode({**query, "limit": str(limit)})}>; rel="self"'
        if len(items) > limit:
            following = {**query, "limit": str(limit), "after": page[-1]["id"]}
            link += f', <{self.state.base_url}{path}?{urlencode(following)}>; rel="next"'
        headers["Link"] = link
        self._send(200, page, headers)


@dataclass
class ServedOkta:
    state: OktaState
    url: str


@contextmanager
def serve_okta(directory: Directory, **options: Any) -> Iterator[ServedOkta]:
    """Run the fake on 127.0.0.1 in a thread."""
    state = OktaState(directory=directory, **options)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield ServedOkta(state, state.base_url)
    finally:
        server.shutdown()
        server.server_close()
