"""A small read-only SCIM server over one export of the data folder (for ``recon demo`` and benchmarks).

It serves ``/ServiceProviderConfig``, ``/ResourceTypes``, ``/Schemas``, ``/Users``, ``/Groups`` and
``/Users/{id}``, ``/Groups/{id}`` on 127.0.0.1 with a bearer token, paging by index (1-based
``startIndex``) and by cursor (RFC 9865, an opaque offset), ``count`` capped at ``max_page_size``.
Filtering, sorting and writes are not offered (501), as its ServiceProviderConfig says.
Pages are assembled from the resources' JSON text (the ``raw`` column), so serving costs
little more than a ``bytes.join``.

::

    with serve_export(store, "idp") as served:       # a thread in this process
        client = ScimClient(served.base_url, served.token)

``python -m recon.simulate.serve --data-dir DIR --system NAME --token T [--port P]`` runs the
same server in the foreground and prints its base URL (the benchmark starts it in its own process).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq

from recon.scim_columns import CORE_GROUP as _GROUP
from recon.scim_columns import CORE_USER as _USER
from recon.scim_columns import ENTERPRISE_USER as _ENTERPRISE
from recon.simulate.json_handler import POLL_SECONDS, JsonHandler
from recon.store import ExportKind, Store

if TYPE_CHECKING:
    from recon.extract.live import ExtractResult, Progress

__all__ = ["ServedExport", "demo_extract", "serve_export", "service_provider_config"]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def service_provider_config(max_page_size: int) -> dict[str, Any]:
    """What this server can do: read-only listing, index and cursor paging."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": False},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": False, "maxResults": max_page_size},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token"}],
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": min(100, max_page_size),
            "maxPageSize": max_page_size,
            "cursorTimeout": 3600,
        },
    }


def _attribute(
    name: str, *, case_exact: bool = False, uniqueness: str = "none", **more: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "type": more.pop("type", "string"),
        "multiValued": more.pop("multiValued", False),
        "caseExact": case_exact,
        "uniqueness": uniqueness,
        "mutability": "readWrite",
        "returned": "default",
        "required": more.pop("required", False),
        **more,
    }


_SCHEMAS: list[dict[str, Any]] = [
    {
        "id": _USER,
        "name": "User",
        "attributes": [
            _attribute("userName", uniqueness="server", required=True),
            _attribute("displayName"),
            _attribute("active", type="boolean"),
            _attribute("title"),
            _attribute(
                "emails",
                type="complex",
                multiValued=True,
                subAttributes=[
                    _attribute("value"),
                    _attribute("type"),
                    _attribute("primary", type="boolean"),
                ],
            ),
        ],
    },
    {"id": _GROUP, "name": "Group", "attributes": [_attribute("displayName")]},
    {"id": _ENTERPRISE, "name": "EnterpriseUser", "attributes": [_attribute("employeeNumber")]},
]
_RESOURCE_TYPES: list[dict[str, Any]] = [
    {
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "schema": _USER,
        "schemaExtensions": [{"schema": _ENTERPRISE}],
    },
    {"id": "Group", "name": "Group", "endpoint": "/Groups", "schema": _GROUP},
]


class _Directory:
    """Resources as JSON bytes, in id order, with an id index."""

    def __init__(self, raws: dict[str, list[bytes]], ids: dict[str, dict[str, int]]) -> None:
        self.raws = raws
        self.ids = ids

    @classmethod
    def load(cls, store: Store, system: str, cycle: str | None, kind: ExportKind) -> _Directory:
        ref = store.complete_export(system, cycle, kind) if cycle else store.latest_complete(system, kind)
        raws: dict[str, list[bytes]] = {}
        ids: dict[str, dict[str, int]] = {}
        for endpoint, table in (("Users", "users"), ("Groups", "groups")):
            data = pq.read_table(ref.table(table), columns=["id", "raw"]).sort_by("id")
            raws[endpoint] = [text.encode("utf-8") for text in data.column("raw").to_pylist()]
            ids[endpoint] = {rid: n for n, rid in enumerate(data.column("id").to_pylist())}
        return cls(raws, ids)

    def page(self, endpoint: str, offset: int, count: int, cursor_mode: bool) -> bytes:
        items = self.raws[endpoint]
        chosen = items[offset : offset + count]
        head: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(items),
            "itemsPerPage": len(chosen),
        }
        if cursor_mode:
            following = offset + len(chosen)
            if chosen and following < len(items):
                head["nextCursor"] = _encode_cursor(following)
        else:
            head["startIndex"] = offset + 1
        prefix = json.dumps(head, separators=(",", ":"))[:-1].encode()
        return prefix + b',"Resources":[' + b",".join(chosen) + b"]}"


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("o:") or not text[2:].isdigit():
        return None
    return int(text[2:])


def _handler(
    directory: _Directory, token: str, max_page_size: int, prefix: str
) -> type[BaseHTTPRequestHandler]:
    spc = json.dumps(service_provider_config(max_page_size)).encode()
    listing: dict[str, list[dict[str, Any]]] = {
        "/ResourceTypes": _RESOURCE_TYPES,
        "/Schemas": _SCHEMAS,
    }

    class Handler(JsonHandler):
        content_type = "application/scim+json"

        def _error(self, status: int, detail: str, scim_type: str | None = None) -> None:
            body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
            if scim_type:
                body["scimType"] = scim_type
            self._send(status, body)

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._error(401, "missing or wrong bearer token")
                return
            parts = urlsplit(self.path)
            path = parts.path
            if not path.startswith(prefix):
                self._error(404, f"no such endpoint {path}")
                return
            path = path[len(prefix) :].rstrip("/") or "/"
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if path == "/ServiceProviderConfig":
                self._send_bytes(200, spc)
            elif path in listing:
                resources = listing[path]
                body = {
                    "schemas": [LIST_RESPONSE],
                    "totalResults": len(resources),
                    "itemsPerPage": len(resources),
                    "startIndex": 1,
                    "Resources": resources,
                }
                self._send(200, body)
            elif path in ("/Users", "/Groups"):
                self._list(path[1:], query)
            elif path.startswith(("/Users/", "/Groups/")):
                endpoint, rid = path[1:].split("/", 1)
                index = directory.ids[endpoint].get(rid)
                if index is None:
                    self._error(404, f"{endpoint[:-1]} {rid} not found")
                else:
                    self._send_bytes(200, directory.raws[endpoint][index])
            else:
                self._error(404, f"no such endpoint {path}")

        def _list(self, endpoint: str, query: dict[str, str]) -> None:
            if "filter" in query:
                self._error(501, "Filtering is not supported")
                return
            if "sortBy" in query:
                self._error(501, "Sorting is not supported")
                return
            try:
                count = min(int(query.get("count", "100")), max_page_size)
                start = int(query.get("startIndex", "1"))
            except ValueError:
                self._error(400, "count and startIndex must be integers", "invalidValue")
                return
            if "cursor" in query and "startIndex" in query:
                self._error(400, "give cursor or startIndex, not both", "invalidValue")
                return
            if "cursor" in query:
                offset = 0 if query["cursor"] == "" else _decode_cursor(query["cursor"])
                if offset is None:
                    self._error(400, "unknown cursor", "invalidCursor")
                    return
                self._send_bytes(200, directory.page(endpoint, offset, max(count, 0), True))
                return
            self._send_bytes(200, directory.page(endpoint, max(start, 1) - 1, max(count, 0), False))

        def _refuse(self) -> None:
            self._error(501, "this server is read-only")

        do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    return Handler


@dataclass
class ServedExport:
    """A running server: its base URL, the token it wants, and what it serves."""

    base_url: str
    token: str
    users: int
    groups: int
    server: ThreadingHTTPServer

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def _start(
    store: Store,
    system: str,
    cycle: str | None,
    kind: ExportKind,
    token: str | None,
    port: int,
    max_page_size: int,
) -> ServedExport:
    directory = _Directory.load(store, system, cycle, kind)
    token = token or secrets.token_urlsafe(24)
    handler = _handler(directory, token, max_page_size, "/v2")
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    bound = server.server_address[1]
    return ServedExport(
        f"http://127.0.0.1:{bound}/v2",
        token,
        len(directory.raws["Users"]),
        len(directory.raws["Groups"]),
        server,
    )


@contextmanager
def serve_export(
    store: Store,
    system: str,
    *,
    cycle: str | None = None,
    kind: ExportKind = "full",
    token: str | None = None,
    port: int = 0,
    max_page_size: int = 1000,
) -> Iterator[ServedExport]:
    """Serve the export of ``system`` (latest complete, or ``cycle``) on 127.0.0.1 in a thread."""
    served = _start(store, system, cycle, kind, token, port, max_page_size)
    thread = threading.Thread(
        target=served.server.serve_forever, args=(POLL_SECONDS,), name="recon-serve", daemon=True
    )
    thread.start()
    try:
        yield served
    finally:
        served.stop()
        thread.join(timeout=5)


def demo_extract(
    store: Store,
    *,
    source: str = "idp",
    into: str = "idp-live",
    cycle: str | None = None,
    progress: Progress | None = None,
) -> ExtractResult:
    """Serve the latest complete full export of ``source`` and extract it live as system ``into``.

    The extract uses the same cycle id as the served export unless ``cycle`` is given.
    """
    from recon.extract.live import ExtractRequest, extract_live
    from recon.scim.client import ScimClient

    served_cycle = cycle or store.latest_complete(source).cycle
    with (
        serve_export(store, source, cycle=served_cycle) as served,
        ScimClient(served.base_url, served.token) as client,
    ):
        return extract_live(
            store,
            client,
            ExtractRequest(system=into, cycle=served_cycle),
            page_size=500,
            progress=progress,
        )


def main(argv: list[str] | None = None) -> None:
    """Serve an export in the foreground until interrupted (prints the base URL first)."""
    parser = argparse.ArgumentParser(prog="python -m recon.simulate.serve", description=main.__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--system", required=True)
    parser.add_argument("--cycle")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--max-page-size", type=int, default=1000)
    args = parser.parse_args(argv)
    served = _start(
        Store(args.data_dir), args.system, args.cycle, "full", args.token, args.port, args.max_page_size
    )
    print(json.dumps({"base_url": served.base_url, "users": served.users}), flush=True)  # never the token
    try:
        served.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        served.server.server_close()


if __name__ == "__main__":
    main()
