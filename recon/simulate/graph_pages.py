"""The simulated IdP as Microsoft Graph v1.0 pages and a Microsoft identity platform token
endpoint, served over TLS on 127.0.0.1 (``recon demo --idp entra``; the tests' Graph fake,
tests/sources/fake_graph.py, is this server with fault knobs added).

Each part reproduces a documented behaviour:

- OpenID discovery ``/{tenant}/v2.0/.well-known/openid-configuration`` and the token endpoint
  ``/{tenant}/oauth2/v2.0/token`` (client credentials: ``client_secret``, or a
  ``client_assertion`` JWT for a certificate), answering ``token_type``/``expires_in``/
  ``access_token`` or an ``invalid_client`` error (Microsoft identity platform, client
  credentials flow). MSAL only talks https: the server has a certificate from a throwaway CA
  (:func:`recon.simulate.local_tls.make_tls`), trusted through ``ca_bundle``;
- ``GET /v1.0/users`` and ``/v1.0/groups``: ``$select`` (only the named properties and ``id``),
  ``$top`` (at most 999), ``$filter`` (``accountEnabled eq``, ``createdDateTime ge|le``;
  anything else 400 ``Request_UnsupportedQuery``), ``$expand=manager($select=id)``, pages
  ending with an ``@odata.nextLink`` that carries an opaque ``$skiptoken`` (Graph paging);
- ``GET /v1.0/users/$count`` and ``/v1.0/groups/$count``: the number of objects as
  ``text/plain``, only with ``ConsistencyLevel: eventual`` (advanced query capabilities on
  directory objects); without it 400 ``Request_BadRequest``. The number comes after a UTF-8
  byte-order mark: OData services may send one in text/plain answers (OASIS OData TC,
  ODATA-1426) and Graph has been seen sending one, so a client must expect it;
- ``/v1.0/groups/{id}/members`` and ``/transitiveMembers``: directoryObjects with
  ``@odata.type`` ``#microsoft.graph.user``/``#microsoft.graph.group``;
- ``/v1.0/servicePrincipals(appId='…')`` and ``/servicePrincipals/{id}/appRoleAssignedTo``
  (appRoleAssignment: principalId, principalType User/Group, resourceId);
- delta queries ``/v1.0/users/delta`` and ``/v1.0/groups/delta``: ``$deltatoken=latest`` gives
  a delta link without data; a delta link gives the objects created or changed since (only
  ``$select`` properties), ``{"id", "@removed": {"reason": "deleted"}}`` for deleted ones,
  groups with ``members@delta`` (added members, removed ones with ``@removed``), paged by
  ``@odata.nextLink`` and ending with a new ``@odata.deltaLink``;
- an unknown or missing bearer token: 401 ``InvalidAuthenticationToken``.

The served directory is a :class:`~recon.simulate.provider_view.Directory`; :meth:`GraphState.publish`
makes a later one current, and the delta links handed out before reach back to the earlier ones.
Subclasses of :class:`GraphState` add faults through :meth:`GraphState.fault`,
:meth:`GraphState.refuse_token`, :meth:`GraphState.left_out_of_delta` and :meth:`GraphState.count`.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from recon.simulate.json_handler import POLL_SECONDS, JsonHandler
from recon.simulate.local_tls import make_tls
from recon.simulate.provider_view import Directory

__all__ = ["GraphError", "GraphState", "ServedGraph", "graph_group", "graph_user", "serve_graph"]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GraphError = tuple[int, str, str, dict[str, str]]  # status, code, message, headers


def _work_email(user: dict[str, Any]) -> str | None:
    for email in user.get("emails") or []:
        if isinstance(email, dict) and email.get("type") == "work":
            return str(email.get("value"))
    return None


def graph_user(user: dict[str, Any]) -> dict[str, Any]:
    """A SCIM User of the simulator as a Graph v1.0 user (the inverse of Entra's documented
    default SCIM mapping, written apart from :mod:`recon.sources.mapping`, so a round trip tests it).
    ``_manager`` is the manager relationship, served through ``$expand=manager``."""
    ent = user.get(ENTERPRISE) or {}
    name = user.get("name") or {}
    return {
        "id": user["id"],
        "userPrincipalName": user.get("userName"),
        "accountEnabled": user.get("active"),
        "displayName": user.get("displayName"),
        "givenName": name.get("givenName"),
        "surname": name.get("familyName"),
        "mail": _work_email(user),
        "otherMails": [str(e.get("value")) for e in user.get("emails") or [] if e.get("type") != "work"],
        "jobTitle": user.get("title"),
        "department": ent.get("department"),
        "employeeId": ent.get("employeeNumber"),
        "mailNickname": str(user.get("userName") or "").split("@")[0] or None,
        "userType": user.get("userType"),
        "createdDateTime": (user.get("meta") or {}).get("created"),
        "_manager": (ent.get("manager") or {}).get("value"),
    }


def graph_group(group: dict[str, Any]) -> dict[str, Any]:
    """A SCIM Group of the simulator as a Graph v1.0 (security) group."""
    return {
        "id": group["id"],
        "displayName": group.get("displayName"),
        "mailNickname": group.get("displayName"),
        "securityEnabled": True,
        "mailEnabled": False,
        "groupTypes": [],
        "createdDateTime": (group.get("meta") or {}).get("created"),
    }


@dataclass
class GraphState:
    """What the server serves, whom it trusts and what it has been asked (shared by the handler
    threads; change it under ``lock``)."""

    directory: Directory
    tenant: str
    client_id: str
    client_secret: str
    app_id: str = ""
    sp_id: str = "sp-0001"
    versions: list[Directory] = field(default_factory=list)
    certificate: Any = None  # an x509 certificate registered for the client (certificate credential)
    requests: int = 0
    tokens_issued: int = 0
    tokens: dict[str, int] = field(default_factory=dict)  # token -> requests made with it
    cache: dict[Any, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def __post_init__(self) -> None:
        if not self.versions:
            self.versions = [self.directory]

    def publish(self, directory: Directory) -> None:
        """Make ``directory`` the current state (older states stay reachable by delta links)."""
        with self.lock:
            self.versions.append(directory)
            self.directory = directory

    # -- hooks for faults (called under ``lock``) -------------------------------------------
    def fault(self, number: int, token: str | None, uses: int | None) -> GraphError | None:
        """An error to answer Graph request ``number`` with instead (None: answer it).
        ``uses``: requests made before with this token (None: not a token this server issued)."""
        return None

    def count(self, path: str, objects: int) -> int:
        """What ``$count`` answers for ``path`` holding ``objects`` (a fault may lag it)."""
        return objects

    def refuse_token(self) -> bool:
        """True: the token endpoint refuses this request (as for a revoked secret)."""
        return False

    def left_out_of_delta(self, object_id: str) -> bool:
        """True: a delta round leaves this object out (a change Graph failed to report)."""
        return False


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
    return bool(named and claims.get("iss") == state.client_id and claims.get("sub") == state.client_id)


def _b64(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.replace("+", "-").replace("/", "_").rstrip("=")


def _skip(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _unskip(token: str) -> int:
    padded = token + "=" * (-len(token) % 4)
    return int(base64.urlsafe_b64decode(padded).decode()[1:])


class GraphHandler(JsonHandler):
    """Answers the token endpoint and Graph v1.0 from ``state``."""

    state: GraphState
    content_type = "application/json; odata.metadata=minimal"

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"code": code, "message": message}}, headers)

    # -- identity platform --------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        state = self.state
        if urlsplit(self.path).path != f"/{state.tenant}/oauth2/v2.0/token":
            return self._error(404, "NotFound", self.path)
        with state.lock:
            good = form.get("client_id") == state.client_id and (
                form.get("client_secret") == state.client_secret
                or _assertion_ok(state, form.get("client_assertion"))
            )
            if state.refuse_token() or not good or form.get("grant_type") != "client_credentials":
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

    # -- Graph ----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        state = self.state
        if path == f"/{state.tenant}/v2.0/.well-known/openid-configuration":
            base = f"{state.base_url}/{state.tenant}"
            return self._send(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        with state.lock:
            state.requests += 1
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else None
            uses = state.tokens.get(token or "")
            error = state.fault(state.requests, token, uses)
            if uses is not None:
                state.tokens[token or ""] = uses + 1
            directory = state.directory
        if error is None and uses is None:
            error = (401, "InvalidAuthenticationToken", "Access token is empty or not valid.", {})
        if error is not None:
            status, code, message, headers = error
            return self._error(status, code, message, headers)
        if not path.startswith("/v1.0/"):
            return self._error(404, "Request_ResourceNotFound", path)
        self._route(path[len("/v1.0") :], query, directory)

    def _route(self, path: str, query: dict[str, str], directory: Directory) -> None:
        select = [s for s in query.get("$select", "").split(",") if s]
        top = min(int(query.get("$top") or 100), 999)
        offset = _unskip(query["$skiptoken"]) if "$skiptoken" in query else 0
        if path in ("/users", "/groups"):
            items = self._rendered(path, directory)
            if "$filter" in query:
                matches = _odata_filter(query["$filter"])
                if matches is None:
                    return self._error(
                        400, "Request_UnsupportedQuery", f"Unsupported query: {query['$filter']}"
                    )
                items = [item for item in items if matches(item)]
            expand = query.get("$expand", "").startswith("manager")
            return self._page(path, query, items, offset, top, select, expand)
        if path in ("/users/$count", "/groups/$count"):
            if (self.headers.get("ConsistencyLevel") or "").lower() != "eventual":
                return self._error(
                    400, "Request_BadRequest", "$count requires the ConsistencyLevel header set to eventual."
                )
            size = len(directory.users if path == "/users/$count" else directory.groups)
            with self.state.lock:
                counted = self.state.count(path, size)
            return self._text("\ufeff" + str(counted))
        if path.startswith("/groups/") and path.count("/") == 3:
            _, _, gid, rel = path.split("/")
            if gid not in directory.groups or rel not in ("members", "transitiveMembers"):
                return self._error(404, "Request_ResourceNotFound", path)
            members = _transitive(directory, gid) if rel == "transitiveMembers" else directory.members(gid)
            objects = [{"@odata.type": _odata_type(m), "id": m["value"]} for m in members]
            return self._page(path, query, objects, offset, top, [], False)
        if path.startswith("/servicePrincipals(appId="):
            app = path.split("'")[1]
            if not self.state.app_id or app != self.state.app_id:
                return self._error(404, "Request_ResourceNotFound", f"appId {app}")
            return self._send(200, {"id": self.state.sp_id, "appId": app, "displayName": "Slack"})
        if path == f"/servicePrincipals/{self.state.sp_id}/appRoleAssignedTo":
            grants = [
                {
                    "id": f"a{n}",
                    "principalId": pid,
                    "principalType": kind,
                    "resourceId": self.state.sp_id,
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

    def _rendered(self, path: str, directory: Directory) -> list[dict[str, Any]]:
        """Every user (group) of ``directory`` as Graph has it, in id order (rendered once)."""
        key = (id(directory), path)
        with self.state.lock:
            items: list[dict[str, Any]] | None = self.state.cache.get(key)
        if items is None:
            render, source = (
                (graph_user, directory.users) if path == "/users" else (graph_group, directory.groups)
            )
            items = [render(source[i]) for i in sorted(source)]
            with self.state.lock:
                self.state.cache[key] = items
        return items

    def _text(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
        body: dict[str, Any] = {
            "@odata.context": f"{self.state.base_url}/v1.0/$metadata#{path}",
            "value": [_shape(item, select, expand_manager) for item in page],
        }
        if offset + top < len(items):
            keep = {k: v for k, v in query.items() if k != "$skiptoken"}
            keep["$skiptoken"] = _skip(offset + top)
            body["@odata.nextLink"] = f"{self.state.base_url}/v1.0{path}?{urlencode(keep, safe='$(),=')}"
        self._send(200, body)

    def _delta(self, path: str, query: dict[str, str], select: list[str]) -> None:
        state = self.state
        users = path == "/users/delta"
        with state.lock:
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


def _odata_type(member: dict[str, Any]) -> str:
    return f"#microsoft.graph.{str(member.get('type') or 'User').lower()}"


def _odata_filter(expression: str) -> Callable[[dict[str, Any]], bool] | None:
    """The few ``$filter`` forms served (Graph supports eq on accountEnabled and ge/le on
    createdDateTime for users): a predicate, or None for anything else (400)."""
    parts = expression.split(" ")
    if len(parts) != 3:
        return None
    name, op, value = parts
    if name == "accountEnabled" and op == "eq" and value in ("true", "false"):
        return lambda item: item.get("accountEnabled") is (value == "true")
    if name == "createdDateTime" and op == "ge":
        return lambda item: (item.get("createdDateTime") or "") >= value
    if name == "createdDateTime" and op == "le":
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
            if state.left_out_of_delta(uid):
                continue
            if uid not in after:
                out.append({"id": uid, "@removed": {"reason": "deleted"}})
            elif before.get(uid) != after[uid]:
                out.append(after[uid])
        return out
    for gid in sorted(set(old.groups) | set(new.groups)):
        if state.left_out_of_delta(gid):
            continue
        if gid not in new.groups:
            out.append({"id": gid, "@removed": {"reason": "deleted"}})
            continue
        shaped = _shape(graph_group(new.groups[gid]), select, False)
        before_members = {m["value"]: m for m in (old.groups.get(gid) or {}).get("members") or []}
        after_members = {m["value"]: m for m in new.groups[gid].get("members") or []}
        delta = [
            {"@odata.type": _odata_type(m), "id": k}
            for k, m in sorted(after_members.items())
            if k not in before_members
        ] + [
            {"@odata.type": _odata_type(m), "id": k, "@removed": {"reason": "deleted"}}
            for k, m in sorted(before_members.items())
            if k not in after_members
        ]
        old_shaped = _shape(graph_group(old.groups[gid]), select, False) if gid in old.groups else None
        if old_shaped != shaped or delta:
            out.append({**shaped, "members@delta": delta})
    return out


@dataclass
class ServedGraph:
    """A running server: its state, its URL (login and Graph) and the CA bundle that trusts it."""

    state: GraphState
    url: str
    ca_bundle: Path


@contextmanager
def serve_graph(
    directory: Directory,
    tls_dir: Path | None = None,
    *,
    state_type: type[GraphState] = GraphState,
    tenant: str = "recon-demo.onmicrosoft.com",
    client_id: str = "00000000-0000-0000-0000-00000000d3e0",
    client_secret: str | None = None,
    **options: Any,
) -> Iterator[ServedGraph]:
    """Serve ``directory`` as Graph pages and its token endpoint on 127.0.0.1 (TLS, a thread).

    The certificate goes into ``tls_dir`` (a temporary folder, removed at the end, when None);
    ``client_secret`` defaults to a fresh random one (``state.client_secret``).
    """
    with _folder(tls_dir) as folder:
        ca, cert, key = make_tls(folder)
        state = state_type(
            directory=directory,
            tenant=tenant,
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            **options,
        )
        handler = type("GraphPagesHandler", (GraphHandler,), {"state": state})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        state.base_url = f"https://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
        thread.start()
        try:
            yield ServedGraph(state, state.base_url, ca)
        finally:
            server.shutdown()
            server.server_close()


@contextmanager
def _folder(folder: Path | None) -> Iterator[Path]:
    """``folder``, or a temporary folder removed at the end."""
    if folder is not None:
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="recon-graph-tls-") as made:
        yield Path(made)
