"""A real SCIM server for tests: scim2-server 0.8.3 on 127.0.0.1, started as a subprocess.

Usage from a test (fixtures are defined in tests/conftest.py)::

    def test_something(rich_scim_server):            # session scope, seeded, READ-ONLY
        server = rich_scim_server
        server.base_url                               # "http://127.0.0.1:PORT/v2"
        server.token                                  # bearer token it accepts
        server.users                                  # {id: the User payload that was POSTed}
        server.groups                                 # {id: the Group payload that was POSTed}
        server.members                               # {group id: [(member id, "User"|"Group"), ...]}
        server.http()                                 # an httpx.Client with the Authorization header

    def test_delta(scim_server):                      # function scope factory; servers stop at teardown
        server = scim_server("rich", users=300, groups=10)    # or "limited", or an SPC dict
        server.patch_user(user_id, {"title": "Boss"})  # PATCH replace; bumps meta.lastModified
        server.create_user({...}) / server.delete_user(id) / server.get_user(id)

``scim_server_module`` is the same factory with module scope. Do not modify the
session-scoped ``rich_scim_server`` / ``limited_scim_server``: other tests read them.

Profiles (ServiceProviderConfig served and enforced by scim2-server):
- ``rich``: bulk (maxOperations 1000, 1 MiB), filter (maxResults 1000), sort, etag, patch,
  pagination by cursor and index (default index, maxPageSize 1000).
- ``limited``: no bulk, no filter, no sort, no etag; index pagination only, maxPageSize 100.

Seeding is deterministic: user ``i`` (0-based) is ``user{i:05d}@example.com``; every 7th user is
inactive; group ``j`` is ``group-{j:03d}`` and holds the users with ``i % groups == j``; group 0
also holds group 1 as a nested member (when there are ≥ 2 groups). Users go in through /Bulk
(1,000 operations per request) when the profile has bulk, else one POST at a time (~4 ms each).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "LIMITED_SPC",
    "RICH_SPC",
    "ScimServer",
    "ScimServerFactory",
    "seed_group",
    "seed_user",
    "start_scim_server",
]

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

RICH_SPC: dict[str, Any] = {
    "schemas": [SPC_SCHEMA],
    "patch": {"supported": True},
    "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
    "filter": {"supported": True, "maxResults": 1000},
    "changePassword": {"supported": False},
    "sort": {"supported": True},
    "etag": {"supported": True},
    "authenticationSchemes": [],
    "pagination": {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    },
}
LIMITED_SPC: dict[str, Any] = {
    "schemas": [SPC_SCHEMA],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": False, "maxResults": 100},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [],
    "pagination": {
        "cursor": False,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 100,
    },
}
PROFILES = {"rich": RICH_SPC, "limited": LIMITED_SPC}
_EXE = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "scim2-server"


def seed_user(index: int) -> dict[str, Any]:
    """The deterministic User payload number ``index`` (0-based)."""
    name = f"user{index:05d}"
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": f"ext-{index:05d}",
        "userName": f"{name}@example.com",
        "displayName": f"Given{index} Family{index}",
        "name": {"givenName": f"Given{index}", "familyName": f"Family{index}"},
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        "active": index % 7 != 0,
        "title": f"Title {index % 13}",
        ENTERPRISE: {"employeeNumber": str(100000 + index), "department": f"Dept {index % 5}"},
    }


def seed_group(index: int, members: list[tuple[str, str]]) -> dict[str, Any]:
    """The Group payload number ``index`` with ``members`` as (id, "User"|"Group") pairs."""
    return {
        "schemas": [GROUP_SCHEMA],
        "externalId": f"gext-{index:03d}",
        "displayName": f"group-{index:03d}",
        "members": [{"value": member, "type": kind} for member, kind in members],
    }


@dataclass
class ScimServer:
    """A running scim2-server process and what was seeded into it."""

    base_url: str
    token: str
    profile: str
    config: dict[str, Any]
    process: subprocess.Popen[bytes]
    workdir: Path
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def user_ids(self) -> list[str]:
        """Seeded user ids in seeding order."""
        return list(self.users)

    @property
    def group_ids(self) -> list[str]:
        """Seeded group ids in seeding order."""
        return list(self.groups)

    @property
    def supports_bulk(self) -> bool:
        return bool(self.config.get("bulk", {}).get("supported"))

    def http(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server with the bearer token set."""
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json"},
            **kwargs,
        )

    # -- writing --------------------------------------------------------------------------
    def create_user(self, payload: dict[str, Any]) -> str:
        """POST one user; returns its id and records it in ``users``."""
        with self.http() as client:
            response = client.post("/Users", json=payload)
        _expect(response, 201)
        user_id = str(response.json()["id"])
        self.users[user_id] = payload
        return user_id

    def create_group(self, payload: dict[str, Any]) -> str:
        """POST one group; returns its id and records it in ``groups``/``members``."""
        with self.http() as client:
            response = client.post("/Groups", json=payload)
        _expect(response, 201)
        group_id = str(response.json()["id"])
        self.groups[group_id] = payload
        self.members[group_id] = [(m["value"], m.get("type", "User")) for m in payload.get("members", [])]
        return group_id

    def patch_user(self, user_id: str, replace: dict[str, Any]) -> None:
        """PATCH replace of top-level attributes (bumps ``meta.lastModified``)."""
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": key, "value": value} for key, value in replace.items()],
        }
        with self.http() as client:
            response = client.patch(f"/Users/{user_id}", json=body)
        _expect(response, 200, 204)
        self.users[user_id] = {**self.users[user_id], **replace}

    def delete_user(self, user_id: str) -> None:
        """DELETE one user."""
        with self.http() as client:
            response = client.delete(f"/Users/{user_id}")
        _expect(response, 204)
        self.users.pop(user_id, None)

    def get_user(self, user_id: str) -> dict[str, Any]:
        """The user as the server returns it now."""
        with self.http() as client:
            response = client.get(f"/Users/{user_id}")
        _expect(response, 200)
        result: dict[str, Any] = response.json()
        return result

    def seed(self, users: int, groups: int) -> None:
        """Create ``users`` users and ``groups`` groups as described in the module docstring."""
        payloads = [seed_user(i) for i in range(users)]
        ids = self._create_many("Users", payloads)
        user_ids = list(ids)
        for user_id, payload in zip(user_ids, payloads, strict=True):
            self.users[user_id] = payload
        group_payloads = []
        for j in range(groups):
            members = [(user_ids[i], "User") for i in range(j, users, groups)] if groups else []
            group_payloads.append(seed_group(j, members))
        # Group 1 first, so group 0 can hold it as a nested member.
        created: dict[int, str] = {}
        order = [1, 0, *range(2, groups)] if groups >= 2 else list(range(groups))
        for j in order:
            payload = group_payloads[j]
            if j == 0 and 1 in created:
                payload = copy.deepcopy(payload)
                payload["members"].append({"value": created[1], "type": "Group"})
            created[j] = self.create_group(payload)

    def _create_many(self, endpoint: str, payloads: list[dict[str, Any]]) -> list[str]:
        if self.supports_bulk:
            return self._bulk_create(endpoint, payloads)
        # One connection-reusing client, one request at a time: the server is CPU-bound (GIL),
        # so threads only add contention.
        ids = []
        with self.http() as client:
            for payload in payloads:
                response = client.post(f"/{endpoint}", json=payload)
                _expect(response, 201)
                ids.append(str(response.json()["id"]))
        return ids

    def _bulk_create(self, endpoint: str, payloads: list[dict[str, Any]]) -> list[str]:
        ids: list[str] = []
        limit = int(self.config["bulk"].get("maxOperations") or 1000)
        with self.http() as client:
            for start in range(0, len(payloads), limit):
                chunk = payloads[start : start + limit]
                body = {
                    "schemas": [BULK_REQUEST],
                    "failOnErrors": 1,
                    "Operations": [
                        {"method": "POST", "path": f"/{endpoint}", "bulkId": f"b{start + n}", "data": p}
                        for n, p in enumerate(chunk)
                    ],
                }
                response = client.post("/Bulk", json=body)
                _expect(response, 200)
                by_bulk_id = {}
                for operation in response.json()["Operations"]:
                    status = str(operation.get("status"))
                    if status != "201":
                        raise RuntimeError(f"bulk seeding failed: {operation}")
                    by_bulk_id[operation["bulkId"]] = operation["location"].rstrip("/").rsplit("/", 1)[1]
                ids.extend(by_bulk_id[f"b{start + n}"] for n in range(len(chunk)))
        return ids

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the server process (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> "
            f"{response.status_code}: {response.text[:300]}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_scim_server(
    profile: str | dict[str, Any] = "rich",
    *,
    users: int = 0,
    groups: int = 0,
    token: str | None = None,
    startup_timeout: float = 20.0,
    schemas: list[dict[str, Any]] | None = None,
    resource_types: list[dict[str, Any]] | None = None,
) -> ScimServer:
    """Start scim2-server on a free 127.0.0.1 port, wait until it answers, seed it, return it.

    ``profile`` is ``"rich"``, ``"limited"`` or a ServiceProviderConfig dict. ``schemas`` /
    ``resource_types`` replace the RFC 7643 ones it serves (``--schema`` / ``--resource-type``).
    The caller must call :meth:`ScimServer.stop` (the fixtures do). Without ``token`` each server
    gets a token of its own, which the readiness check below relies on.
    """
    token = token or f"test-token-{secrets.token_hex(6)}"
    if isinstance(profile, str):
        config, name = copy.deepcopy(PROFILES[profile]), profile
    else:
        config, name = copy.deepcopy(profile), "custom"
    workdir = Path(tempfile.mkdtemp(prefix="scim2-server-"))
    spc = workdir / "spc.json"
    spc.write_text(json.dumps(config), encoding="utf-8")
    served: list[str] = []
    for option, listed in (("--schema", schemas), ("--resource-type", resource_types)):
        if listed is not None:
            path = workdir / f"{option.strip('-')}.json"
            path.write_text(json.dumps(listed), encoding="utf-8")
            served += [option, str(path)]
    last_error = "not started"
    for _attempt in range(3):
        port = _free_port()
        log = open(workdir / f"server-{port}.log", "wb")  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            [
                str(_EXE),
                "--hostname",
                "127.0.0.1",
                "--port",
                str(port),
                "--service-provider-config",
                str(spc),
                "--bearer-token",
                token,
                *served,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        server = ScimServer(f"http://127.0.0.1:{port}/v2", token, name, config, process, workdir)
        try:
            if _wait_ready(server, startup_timeout):
                server.seed(users, groups)
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
        last_error = (workdir / f"server-{port}.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"scim2-server did not start: {last_error}")


def _wait_ready(server: ScimServer, timeout: float) -> bool:
    # The free port is closed before the server binds it, so another process (a second pytest
    # worker) may bind it first; then this server exits, but until it does the other one answers.
    # /Users needs the bearer token, which is this server's own: another server answers 401.
    deadline = time.monotonic() + timeout
    with server.http(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            with contextlib.suppress(httpx.TransportError):
                if client.get("/Users", params={"count": 0}).status_code == 200:
                    return True
            time.sleep(0.05)
    return False


class ScimServerFactory:
    """Starts servers on demand and stops all of them on :meth:`close`."""

    def __init__(self) -> None:
        self._servers: list[ScimServer] = []

    def __call__(
        self,
        profile: str | dict[str, Any] = "rich",
        *,
        users: int = 0,
        groups: int = 0,
        token: str | None = None,
        schemas: list[dict[str, Any]] | None = None,
        resource_types: list[dict[str, Any]] | None = None,
    ) -> ScimServer:
        server = start_scim_server(
            profile,
            users=users,
            groups=groups,
            schemas=schemas,
            resource_types=resource_types,
            **({"token": token} if token else {}),
        )
        self._servers.append(server)
        return server

    def close(self) -> None:
        """Stop every server this factory started."""
        for server in self._servers:
            server.stop()
        self._servers.clear()


@contextlib.contextmanager
def scim_server_factory() -> Iterator[ScimServerFactory]:
    """Context manager form of :class:`ScimServerFactory` (used by the fixtures)."""
    factory = ScimServerFactory()
    try:
        yield factory
    finally:
        factory.close()
