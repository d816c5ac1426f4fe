"""A local fake of Microsoft Graph v1.0 and the Microsoft identity platform token endpoint.

Served over TLS on 127.0.0.1 (MSAL refuses an authority that is not https) with a
certificate from a throwaway CA (``make_tls``), trusted through ``ca_bundle``. Each part
reproduces a documented behaviour:

- OpenID discovery ``/{tenant}/v2.0/.well-known/openid-configuration`` and the token
  endpoint ``/{tenant}/oauth2/v2.0/token`` (client credentials: ``client_secret``, or a
  ``client_assertion`` JWT for a certificate), answering ``token_type``/``expires_in``/
  ``access_token`` or an ``invalid_client`` error (Microsoft identity platform, client
  credentials flow);
- ``GET /v1.0/users`` and ``/v1.0/groups``: ``$select`` (only the named properties and
  ``id``), ``$top`` (at most 999), ``$filter`` (``accountEnabled eq``, ``createdDateTime ge|le``;
  anything else 400 ``Request_UnsupportedQuery``), ``$expand=manager($select=id)``, pages ending with an
  ``@odata.nextLink`` that carries an opaque ``$skiptoken`` (Graph paging);
- ``/v1.0/groups/{id}/members`` and ``/transitiveMembers``: directoryObjects with
  ``@odata.type`` ``#microsoft.graph.user``/``#microsoft.graph.group``;
- ``/v1.0/servicePrincipals(appId='…')`` and ``/servicePrincipals/{id}/appRoleAssignedTo``
  (appRoleAssignment: principalId, principalType User/Group, resourceId);
- delta queries ``/v1.0/users/delta`` and ``/v1.0/groups/delta``: ``$deltatoken=latest``
  gives a delta link without data; a delta link gives the objects created or changed since
  (only ``$select`` properties), ``{"id", "@removed": {"reason": "deleted"}}`` for deleted
  ones, groups with ``members@delta`` (added members, removed ones with ``@removed``),
  paged by ``@odata.nextLink`` and ending with a new ``@odata.deltaLink``;
- throttling: ``throttle`` = a set of request numbers answered 429 with ``Retry-After``
  (Graph throttling guidance);
- token expiry: a token stops working after ``token_uses`` requests (401
  ``InvalidAuthenticationToken``), as an access token that expires mid-crawl does;
  ``refuse_tokens_after`` makes the token endpoint refuse further tokens (a revoked secret).

Faults for delta tests: ``drop_from_delta`` (ids left out of a delta round).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from directory import Directory, graph_group, graph_user

from recon.simulate.json_handler import JsonHandler

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "graph-client-secret-value-0123456789"
APP_ID = "99999999-aaaa-bbbb-cccc-dddddddddddd"
SP_ID = "sp-0001"


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recon test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@dataclass
class GraphState:
    """What the fake serves and what it has been asked (shared with the handler threads)."""

    directory: Directory
    versions: list[Directory] = field(default_factory=list)
    throttle: set[int] = field(default_factory=set)
    retry_after: str = "0"
    token_uses: int | None = None
    refuse_tokens_after: int | None = None
    drop_from_delta: set[str] = field(default_factory=set)
    certificate: Any = None  # an x509 certificate registered for the client (certificate credential)
    requests: int = 0
    tokens_issued: int = 0
    throttled: int = 0
    expired: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def publish(self, directory: Directory) -> None:
        """Make ``directory`` the current state (older states stay reachable by delta links)."""
        with self.lock:
            self.versions.append(directory)
            self.directory = directory


def _assertion_ok(state: GraphState, assertion: str | None) -> bool:
    """A certificate credential: a JWT signed with the registered certificate's key, whose
    ``x5t#S256`` (or legacy ``x5t``) header is the certificate's SHA-256 (SHA-1) thumbprint,
    issued by and for this client (RFC 7523, Microsoft identity platform certificate credentials)."""
    import jwt
    from cryptography.hazmat.primitives import hashes

    if state.certificate is None or not assertion:
        return False

    def thumbprint(algorithm: hashes.HashAlgorithm) -> str:
        return base64.urlsafe_b64encode(state.certificate.fingerprint(algorithm)).decode().rstrip("=")

    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(
            assertion,
            state.certificate.public_key(),
            algorithms=["RS256", "PS256"],
            options={"verify_aud": False},
        )
    except jwt.PyJWTError:
        return False
    # base64url per RFC 7515; MSAL sends standard base64 with padding: compare the bytes
    named = _b64(header.get("x5t#S256")) == thumbprint(hashes.SHA256()) or _b64(
        header.get("x5t")
    ) == thumbprint(hashes.SHA1())
    return bool(named and claims.get("iss") == CLIENT_ID and claims.get("sub") == CLIENT_ID)


def _b64(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.replace("+", "-").replace("/", "_").rstrip("=")


def _skip(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _unskip(token: str) -> int:
    padded = token + "=" * (-len(token) % 4)
    return int(base64.urlsafe_b64decode(padded).decode()[1:])


class _Handler(JsonHandler):
    state: GraphState
    content_type = "application/json; odata.metadata=minimal"

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    # -- identity platform --------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not self.path.endswith("/oauth2/v2.0/token"):
            return self._error(404, "NotFound", self.path)
        state = self.state
        with state.lock:
            refused = (
                state.refuse_tokens_after is not None and state.tokens_issued >= state.refuse_tokens_after
            )
            good = form.get("client_id") == CLIENT_ID and (
                form.get("client_secret") == CLIENT_SECRET
                or _assertion_ok(state, form.get("client_assertion"))
            )
            if refused or not good or form.get("grant_type") != "client_credentials":
                return self._send(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
            token = secrets.token_urlsafe(24)
            state.tokens[token] = 0
            state.tokens_issued += 1
        self._send(
            200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        state = self.state
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            base = f"{state.base_url}/{tenant}"
            return self._send(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{state.base_url}/{tenant}/v2.0",
                },
            )
        with state.lock:
            state.requests += 1
            number = state.requests
            if number in state.throttle:
                state.throttled += 1
                throttled = True
            else:
                throttled = False
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else None
            uses = state.tokens.get(token or "")
            expired = uses is not None and state.token_uses is not None and uses >= state.token_uses
            if uses is not None:
                state.tokens[token or ""] = uses + 1
            if expired:
                state.expired += 1
            directory = state.directory
        if throttled:
            return self._error(
                429, "TooManyRequests", "Too many requests", {"Retry-After": state.retry_after}
            )
        if uses is None or expired:
            return self._error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        if not path.startswith("/v1.0/"):
            return self._error(404, "Request_ResourceNotFound", path)
        self._route(path[len("/v1.0") :], query, directory)

    def _route(self, path: str, query: dict[str, str], directory: Directory) -> None:
        select = [s for s in query.get("$select", "").split(",") if s]
        top = min(int(query.get("$top") or 100), 999)
        offset = _unskip(query["$skiptoken"]) if "$skiptoken" in query else 0
        if path in ("/users", "/groups"):
            render = graph_user if path == "/users" else graph_group
            source = directory.users if path == "/users" else directory.groups
            key = (id(directory), path)
            with self.state.lock:
                items = self.state.cache.get(key)
            if items is None:
                items = [render(source[i]) for i in sorted(source)]
                with self.state.lock:
                    self.state.cache[key] = items
            if "$filter" in query:
                matches = _odata_filter(query["$filter"])
                if matches is None:
                    return self._error(
                        400, "Request_UnsupportedQuery", f"Unsupported query: {query['$filter']}"
                    )
                items = [item for item in items if matches(item)]
            expand = query.get("$expand", "").startswith("manager")
            return self._page(path, query, items, offset, top, select, expand)
        if path.startswith("/groups/") and path.count("/") == 3:
            _, _, gid, rel = path.split("/")
            if gid not in directory.groups or rel not in ("members", "transitiveMembers"):
                return self._error(404, "Request_ResourceNotFound", path)
            members = _transitive(directory, gid) if rel == "transitiveMembers" else directory.members(gid)
            objects = [
                {
                    "@odata.type": "#microsoft.graph.user"
                    if m.get("type", "User") == "User"
                    else "#microsoft.graph.group",
                    "id": m["value"],
                }
                for m in members
            ]
            return self._page(path, query, objects, offset, top, [], False)
        if path.startswith("/servicePrincipals(appId="):
            app = path.split("'")[1]
            if app != APP_ID:
                return self._error(404, "Request_ResourceNotFound", f"appId {app}")
            return self._send(200, {"id": SP_ID, "appId": APP_ID, "displayName": "Slack"})
        if path == f"/servicePrincipals/{SP_ID}/appRoleAssignedTo":
            grants = [
                {
                    "id": f"a{n}",
                    "principalId": pid,
                    "principalType": kind,
                    "resourceId": SP_ID,
                    "appRoleId": "00000000-0000-0000-0000-000000000000",
                }
                for n, (pid, kind) in enumerate(
                    [(u, "User") for u in directory.assigned_users]
                    + [(g, "Group") for g in directory.assigned_groups]
                )
            ]
            return self._page(path, query, grants, offset, top, [], False)
        if path in ("/users/delta", "/groups/delta"):
            return self._delta(path, query, select)
        return self._error(404, "Request_ResourceNotFound", path)

    def _page(
        self,
        path: str,
        query: dict[str, str],
        items: list[dict[str, Any]],
        offset: int,
        top: int,
        select: list[str],
        expand_manager: bool,
    ) -> None:
        page = items[offset : offset + top]
        body: dict[str, Any] = {"@odata.context": f"{self.state.base_url}/v1.0/$metadata#{path}", "value": []}
        for item in page:
            body["value"].append(_shape(item, select, expand_manager))
        if offset + top < len(items):
            keep = {k: v for k, v in query.items() if k != "$skiptoken"}
            keep["$skiptoken"] = _skip(offset + top)
            body["@odata.nextLink"] = f"{self.state.base_url}/v1.0{path}?{urlencode(keep, safe='$(),=')}"
        self._send(200, body)

    def _delta(self, path: str, query: dict[str, str], select: list[str]) -> None:
        state = self.state
        users = path == "/users/delta"
        now = len(state.versions) - 1
        link_params = {"$select": ",".join(select)} if select else {}
        if query.get("$deltatoken") == "latest":
            return self._send(
                200, {"value": [], "@odata.deltaLink": self._delta_link(path, now, link_params)}
            )
        if "$deltatoken" in query:
            since, offset = int(query["$deltatoken"][1:]), 0
        elif "$skiptoken" in query:
            raw = query["$skiptoken"]
            since, offset = int(raw.split("-")[0][1:]), int(raw.split("-")[1])
        else:  # an initial round: everything (not used by recon, which asks for latest)
            since, offset = -1, 0
        changes = _changes(state, since, now, users, select)
        top = 200
        page = changes[offset : offset + top]
        body: dict[str, Any] = {"value": page}
        if offset + top < len(changes):
            keep = dict(link_params)
            keep["$skiptoken"] = f"v{since}-{offset + top}"
            body["@odata.nextLink"] = f"{state.base_url}/v1.0{path}?{urlencode(keep, safe='$(),=')}"
        else:
            body["@odata.deltaLink"] = self._delta_link(path, now, link_params)
        self._send(200, body)

    def _delta_link(self, path: str, version: int, params: dict[str, str]) -> str:
        query = urlencode({**params, "$deltatoken": f"v{version}"}, safe="$(),=")
        return f"{self.state.base_url}/v1.0{path}?{query}"


def _odata_filter(expression: str) -> Any:
    """The few ``$filter`` forms the fake evaluates (Graph supports eq on accountEnabled and
    ge/le on createdDateTime for users): a predicate, or None for anything else (400)."""
    parts = expression.split(" ")
    if len(parts) != 3:
        return None
    name, op, value = parts
    if name == "accountEnabled" and op == "eq" and value in ("true", "false"):
        return lambda item: item.get("accountEnabled") is (value == "true")
    if name == "createdDateTime" and op in ("ge", "le"):
        if op == "ge":
            return lambda item: (item.get("createdDateTime") or "") >= value
        return lambda item: (item.get("createdDateTime") or "") <= value
    return None


def _shape(item: dict[str, Any], select: list[str], expand_manager: bool) -> dict[str, Any]:
    out = {
        k: v
        for k, v in item.items()
        if not k.startswith("_") and (not select or k in select or k == "id" or k.startswith("@"))
    }
    if expand_manager and item.get("_manager"):
        out["manager"] = {"@odata.type": "#microsoft.graph.user", "id": item["_manager"]}
    return out


def _transitive(directory: Directory, gid: str) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    stack = [gid]
    visited = set()
    while stack:
        current = stack.pop()
        if current in visited:
            continue
        visited.add(current)
        for member in directory.members(current):
            seen.setdefault(member["value"], member)
            if member.get("type") == "Group" and member["value"] in directory.groups:
                stack.append(member["value"])
    return [seen[k] for k in sorted(seen)]


def _changes(state: GraphState, since: int, now: int, users: bool, select: list[str]) -> list[dict[str, Any]]:
    """What changed between two published versions, as a Graph delta round returns it."""
    old = state.versions[since] if since >= 0 else Directory({}, {})
    new = state.versions[now]
    out: list[dict[str, Any]] = []
    if users:
        before = {i: _shape(graph_user(u), select, True) for i, u in old.users.items()}
        after = {i: _shape(graph_user(u), select, True) for i, u in new.users.items()}
        for uid in sorted(set(before) | set(after)):
            if uid in state.drop_from_delta:
                continue
            if uid not in after:
                out.append({"id": uid, "@removed": {"reason": "deleted"}})
            elif before.get(uid) != after[uid]:
                out.append(after[uid])
        return out
    for gid in sorted(set(old.groups) | set(new.groups)):
        if gid in state.drop_from_delta:
            continue
        if gid not in new.groups:
            out.append({"id": gid, "@removed": {"reason": "deleted"}})
            continue
        shaped = _shape(graph_group(new.groups[gid]), select, False)
        before_members = {m["value"]: m for m in (old.groups.get(gid) or {}).get("members") or []}
        after_members = {m["value"]: m for m in new.groups[gid].get("members") or []}
        delta = [
            {"@odata.type": f"#microsoft.graph.{(m.get('type') or 'User').lower()}", "id": k}
            for k, m in sorted(after_members.items())
            if k not in before_members
        ] + [
            {
                "@odata.type": f"#microsoft.graph.{(m.get('type') or 'User').lower()}",
                "id": k,
                "@removed": {"reason": "deleted"},
            }
            for k, m in sorted(before_members.items())
            if k not in after_members
        ]
        old_shaped = _shape(graph_group(old.groups[gid]), select, False) if gid in old.groups else None
        if old_shaped != shaped or delta:
            out.append({**shaped, "members@delta": delta})
    return out


@dataclass
class ServedGraph:
    state: GraphState
    url: str
    ca_bundle: Path


@contextmanager
def serve_graph(directory: Directory, tls_dir: Path, **options: Any) -> Iterator[ServedGraph]:
    """Run the fake on 127.0.0.1 (TLS) in a thread; ``url`` serves both login and Graph."""
    ca, cert, key = make_tls(tls_dir)
    state = GraphState(directory=directory, versions=[directory], **options)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ServedGraph(state, state.base_url, ca)
    finally:
        server.shutdown()
        server.server_close()
