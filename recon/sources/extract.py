"""``recon extract`` and ``recon discover`` for systems of kind ``entra`` and ``okta``.

The crawl (:mod:`recon.sources.entra`, :mod:`recon.sources.okta`) yields SCIM resources;
each is normalised (:func:`recon.extract.normalize.normalise`) and streamed through the same
:class:`~recon.extract.writer.ExportWriter` into the same export layout (CONTRACT §3), inside
:meth:`recon.store.Store.publishing`, so nothing half-written looks complete.

Incremental exports (kind ``delta``):

- Entra: ``--since CYCLE`` follows the Graph delta links stored in that cycle's manifest
  (``origin.delta_links``); the manifest's ``watermark`` is the users delta link that was
  followed (a URL, not a time) and ``origin.delta_links`` the links for the next round.
  Removed objects (``@removed``) are rows whose extension holds ``@removed``;
  ``--filter`` sends a Graph ``$filter`` to /users and /groups as is (recorded in
  ``origin.provider_filter``; the manifest's SCIM ``filter`` stays empty).
- Okta: ``--since TS`` sends ``filter=lastUpdated gt "TS"``; the manifest records the SCIM
  equivalent ``meta.lastModified gt "TS"`` and the watermark ``TS``.

The app-assignment group is in every full export; a delta export carries it only when its
members differ from the base full export's (so ``recon deltas`` sees it as changed exactly
when the assignments changed).

A full export records the provider's own counts beside the exported ones
(:mod:`recon.sources.counts`: Graph ``$count``; Okta has none).

Status: ``partial`` when the crawl stopped after some pages (retries given up, a token
that expired and could not be renewed, a paging loop), with the reason as an anomaly that
affects completeness; nothing read at all raises (exit 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon.capabilities import Capabilities, load_capabilities, save_capabilities
from recon.config.providers import EntraSettings, OktaSettings
from recon.config.toml import SystemConfig
from recon.engine import Session, open_session
from recon.errors import DataNotFound, ScimError, UsageError
from recon.extract.crawl import ExtractRequest, canonical_resources
from recon.extract.files import since_filter
from recon.extract.live import ExtractResult, _is_complete
from recon.extract.normalize import ENTERPRISE_USER, GROUP_SCHEMA, USER_SCHEMA, Rejected, normalise
from recon.extract.writer import ExportWriter
from recon.schemas import ASSIGNMENT_GROUP_PREFIX
from recon.sources.auth import EntraToken, OktaServiceToken, OktaSsws, TokenSource, ssl_context
from recon.sources.counts import GRAPH_COUNT, OKTA_NO_COUNT, check_counts
from recon.sources.declare import ExtensionSchemas
from recon.sources.entra import EntraCrawl
from recon.sources.http import ProviderClient
from recon.sources.mapping import Mapping, mapping_for
from recon.sources.okta import OktaCrawl
from recon.store import ExportKind, Manifest, Store, atomic_write_json, check_name, cycle_id_now

__all__ = ["SourceDiscovery", "discover_source", "extract_source", "open_client"]

_BATCH_ROWS = 5_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _mapping(system: SystemConfig) -> Mapping:
    source = system.source
    assert source is not None
    return mapping_for(source.kind, source.mapping, source.group_mapping, f"systems.{system.name}")


def open_client(
    system: SystemConfig, transport: httpx.BaseTransport | None = None, **options: Any
) -> ProviderClient:
    """The provider client of a system (token source included)."""
    source = system.source
    auth: TokenSource
    if isinstance(source, EntraSettings):
        auth = EntraToken(system.name, source, system.ca_bundle, system.timeout)
        base = source.base_url
    elif isinstance(source, OktaSettings):
        if source.private_key_file is not None:
            token_http = httpx.Client(
                transport=transport, verify=ssl_context(system.ca_bundle), timeout=system.timeout
            )
            auth = OktaServiceToken(system.name, source, token_http)
        else:
            auth = OktaSsws(system.name, source)
        base = source.base_url
    else:
        raise UsageError(f"system {system.name!r} is of kind {system.kind!r}, not a provider kind")
    return ProviderClient(
        base,
        auth,
        ca_bundle=system.ca_bundle,
        timeout=system.timeout,
        max_retries=system.max_retries,
        rate_limit=system.rate_limit,
        transport=transport,
        **options,
    )


@dataclass(frozen=True)
class SourceDiscovery:
    """What ``recon discover`` learnt about a provider system."""

    system: str
    kind: str
    base_url: str
    checks: dict[str, Any]
    mapping: dict[str, dict[str, str]]
    path: Path


def discover_source(
    store: Store, system: SystemConfig, client: ProviderClient | None = None
) -> SourceDiscovery:
    """Sign in, read one page of users and groups and the app's assignments; store capabilities.json.

    Raises :class:`ScimError` (exit 2) when sign-in or a read fails.
    """
    mapping = _mapping(system)
    own = client is None
    client = client or open_client(system)
    checks: dict[str, Any] = {}
    try:
        source = system.source
        if isinstance(source, EntraSettings):
            _, users = client.get("/users", {"$select": ",".join(mapping.user_select()), "$top": "1"})
            _, groups = client.get("/groups", {"$select": "id,displayName", "$top": "1"})
            checks["users_readable"] = isinstance(users, dict) and isinstance(users.get("value"), list)
            checks["groups_readable"] = isinstance(groups, dict) and isinstance(groups.get("value"), list)
            if source.app_id:
                _, sp = client.get(
                    f"/servicePrincipals(appId='{source.app_id}')", {"$select": "id,displayName"}
                )
                checks["service_principal"] = {"id": sp.get("id"), "displayName": sp.get("displayName")}
            checks["paging"] = "@odata.nextLink"
            checks["incremental"] = "delta query (@odata.deltaLink)"
        else:
            response, users = client.get("/api/v1/users", {"limit": "1"})
            checks["users_readable"] = isinstance(users, list)
            checks["rate_limit"] = {
                h: response.headers.get(h)
                for h in ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
                if response.headers.get(h) is not None
            }
            _, groups = client.get("/api/v1/groups", {"limit": "1"})
            checks["groups_readable"] = isinstance(groups, list)
            if isinstance(source, OktaSettings) and source.app_id:
                _, app = client.get(f"/api/v1/apps/{source.app_id}")
                checks["app"] = {
                    "id": app.get("id"),
                    "label": app.get("label"),
                    "signOnMode": app.get("signOnMode"),
                }
            checks["paging"] = 'Link rel="next"'
            checks["incremental"] = 'filter=lastUpdated gt "…"'
        checks["token_renewals"] = client.auth.refreshes
    finally:
        if own:
            client.close()
    known = load_capabilities(store, system.name)
    schemas = (
        known.advertised.get("schemas")
        if known and known.advertised.get("mapping") == mapping.table()
        else None
    )
    save_capabilities(store, provider_capabilities(system, mapping, checks, schemas))
    path = store.capabilities_dir(system.name) / "capabilities.json"
    return SourceDiscovery(system.name, system.kind, system.base_url or "", checks, mapping.table(), path)


def provider_capabilities(
    system: SystemConfig,
    mapping: Mapping,
    checks: dict[str, Any] | None = None,
    schemas: list[dict[str, Any]] | None = None,
) -> Capabilities:
    """The capability map of a provider system: what was checked, the mapping, and the SCIM
    view recon gives it (resource types with the enterprise and provider extensions), so
    ``recon validate`` knows the provider extension is declared."""

    def extension(urn: str, name: str) -> dict[str, Any]:
        return {
            "id": urn,
            "name": name,
            "description": "every provider attribute no mapping reads",
            "attributes": [],
        }

    types = [
        {
            "name": "User",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_USER, "required": False},
                {"schema": mapping.user_extension, "required": False},
            ],
        },
        {
            "name": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [{"schema": mapping.group_extension, "required": False}],
        },
    ]
    return Capabilities(
        system=system.name,
        base_url=system.base_url,
        discovered_at=_now(),
        advertised={
            "provider": system.kind,
            "checks": checks or {},
            "mapping": mapping.table(),
            "resource_types": types,
            "schemas": schemas
            or [
                extension(mapping.user_extension, f"{system.kind} user"),
                extension(mapping.group_extension, f"{system.kind} group"),
            ],
        },
    )


def extract_source(
    store: Store,
    system: SystemConfig,
    request: ExtractRequest,
    *,
    client: ProviderClient | None = None,
) -> ExtractResult:
    """Export an Entra or Okta system into the store (see the module docstring)."""
    check_name(request.system, "system name")
    if request.resume:
        raise UsageError(f"--resume is for SCIM systems; run the {system.kind} export again")
    if request.since is not None and request.filter_expr is not None:
        raise UsageError("give --since or --filter, not both")
    mapping = _mapping(system)
    known = load_capabilities(store, system.name)
    declared = ExtensionSchemas(
        {mapping.user_extension: f"{system.kind} user", mapping.group_extension: f"{system.kind} group"}
    )
    if known is not None and known.advertised.get("mapping") == mapping.table():
        declared.merge(known.advertised.get("schemas"))
    cycle = check_name(request.cycle or cycle_id_now(), "cycle id")
    kind: ExportKind = "delta" if request.since is not None or request.filter_expr is not None else "full"
    manifest = Manifest(system=request.system, cycle=cycle, kind=kind)
    manifest.started = _now()
    own = client is None
    client = client or open_client(system)
    origin: dict[str, Any] = {"method": "live", "provider": system.kind, "base_url": client.base_url}
    base_members: list[str] | None = None
    try:
        crawl: EntraCrawl | OktaCrawl
        resources: Iterator[dict[str, Any]]
        page_size = request.page_size or system.page_size
        groups_too = "Groups" in canonical_resources(request.resources)
        if isinstance(system.source, EntraSettings):
            crawl = EntraCrawl(client, system.source, mapping, page_size)
            crawl.groups_too = groups_too
            if request.since is not None:
                base_manifest = _base_manifest(store, request.system, request.since)
                links = base_manifest.origin.get("delta_links") or {}
                if not links:
                    raise UsageError(
                        f"--since {request.since}: that export's manifest holds no Graph delta links "
                        "(take a full export first)"
                    )
                manifest.watermark = links.get("users")
                origin["delta_links_followed"] = links
                origin["base_cycle"] = request.since
                base_members = _assignment_members(store, request.system, request.since)
                resources = crawl.delta(links)
            elif request.filter_expr is not None:
                origin["provider_filter"] = request.filter_expr
                resources = _entra_filtered(crawl, request.filter_expr)
            else:
                resources = crawl.full()
        else:
            assert isinstance(system.source, OktaSettings)
            crawl = OktaCrawl(client, system.source, mapping, page_size)
            crawl.groups_too = groups_too
            if request.filter_expr is not None:
                raise UsageError("Okta systems take --since TS (filter=lastUpdated gt), not --filter")
            if request.since is not None:
                manifest.filter, manifest.watermark = since_filter(request.since)
                base_cycle = _latest_full_before(store, request.system, cycle)
                if base_cycle is not None:
                    base_members = _assignment_members(store, request.system, base_cycle)
                    origin["base_cycle"] = base_cycle
                resources = crawl.since(manifest.watermark)
            else:
                resources = crawl.full()
        ref = store.export(request.system, cycle, kind)
        sessions: list[Session] = []

        def session() -> Session:  # opened only if rows must be sorted (as for SCIM extraction)
            if not sessions:
                sessions.append(open_session(temp_dir=store.temp_dir, buffer_default="1GB"))
            return sessions[0]

        held: Path | None = None
        try:
            with store.publishing(ref.path) as staging:
                writer = ExportWriter(staging, batch_rows=_BATCH_ROWS)
                received_any = _write(resources, writer, manifest, client, declared)
                if not received_any and manifest.status == "partial":
                    raise ScimError(str(manifest.anomalies[-1]["detail"]))
                if (
                    base_members is not None
                    and groups_too
                    and system.source.app_id
                    and manifest.status == "complete"
                ):
                    _assignment_if_changed(crawl, writer, base_members, origin, declared)
                manifest.pages = crawl.pages
                manifest.finished = _now()
                origin["mapping"] = mapping.table()
                origin["client"] = client.stats()
                origin["requests_sent"] = getattr(crawl, "sent", {})
                if isinstance(crawl, EntraCrawl) and crawl.delta_links:
                    origin["delta_links"] = crawl.delta_links
                if crawl.assignment:
                    origin["app_assignment"] = crawl.assignment
                manifest.origin = origin
                writer.finish(session, manifest)
                manifest.items_received = dict(crawl.received)
                if kind == "full" and request.filter_expr is None:
                    _count_check(crawl, manifest, groups_too)
                atomic_write_json(staging / "manifest.json", manifest.to_json())
                if manifest.status != "complete" and _is_complete(ref):
                    held = store.hold(staging, ref)  # a partial run never replaces a complete export
        finally:
            for opened in sessions:
                opened.close()
    finally:
        if own:
            client.close()
    checks = known.advertised.get("checks") if known is not None else None
    save_capabilities(store, provider_capabilities(system, mapping, checks, declared.schemas()))
    return ExtractResult(
        ref.path,
        manifest,
        False,
        {"method": system.kind, "page_size": page_size, "concurrency": 1, "paging": {}},
        held,
    )


def _write(
    resources: Iterator[dict[str, Any]],
    writer: ExportWriter,
    manifest: Manifest,
    client: ProviderClient,
    declared: ExtensionSchemas,
) -> bool:
    """Stream the crawl into the writer; a failure after the first resource makes it partial."""
    received = False
    try:
        for resource in resources:
            received = True
            declared.add(resource)
            try:
                writer.add(normalise(resource, orjson.dumps(resource).decode("utf-8")))
            except Rejected as exc:
                manifest.rejected += 1
                manifest.add_anomaly("rejected", f"{resource.get('id')!s}: {exc}", affects_completeness=True)
    except ScimError as exc:
        if not received:
            raise
        manifest.status = "partial"
        manifest.add_anomaly("crawl_stopped", client.redact(str(exc)), affects_completeness=True)
    if manifest.rejected:
        manifest.status = "partial"
    return received


def _count_check(crawl: EntraCrawl | OktaCrawl, manifest: Manifest, groups_too: bool) -> None:
    """The provider's own counts beside the exported ones (:mod:`recon.sources.counts`)."""
    for kind, detail in crawl.notes:
        manifest.add_anomaly(kind, detail, affects_completeness=False)
    exported = {"Users": manifest.rows.get("users", 0)}
    if groups_too:
        exported["Groups"] = manifest.rows.get("groups", 0) - crawl.extra_groups
    if isinstance(crawl, EntraCrawl):
        check_counts(manifest, crawl.counted, exported, GRAPH_COUNT)
    else:
        check_counts(manifest, {}, exported, OKTA_NO_COUNT)


def _entra_filtered(crawl: EntraCrawl, expression: str) -> Iterator[dict[str, Any]]:
    """Users and groups matching a Graph ``$filter`` (members of the returned groups included)."""
    select = ",".join(crawl.mapping.user_select())
    for user in crawl._list(
        "/users",
        {"$filter": expression, "$select": select, "$top": str(crawl.top), "$expand": "manager($select=id)"},
    ):
        crawl.received["Users"] += 1
        yield crawl._user(user)
    groups = ",".join(crawl.mapping.group_select())
    for group in crawl._list("/groups", {"$filter": expression, "$select": groups, "$top": str(crawl.top)}):
        crawl.received["Groups"] += 1
        yield crawl.mapping.group(
            group, crawl._members(str(group.get("id")), "members"), group.get("createdDateTime"), None
        )


def _base_manifest(store: Store, system: str, cycle: str) -> Manifest:
    check_name(cycle, "cycle id")
    kinds: tuple[ExportKind, ...] = ("full", "delta")
    for kind in kinds:
        ref = store.export(system, cycle, kind)
        if ref.manifest_path.is_file():
            manifest = ref.manifest()
            if manifest.status == "complete" and manifest.origin.get("delta_links"):
                return manifest
    raise DataNotFound(
        f"--since {cycle}: no complete export of system {system!r} at that cycle with Graph delta links "
        "(for Entra, --since takes the cycle id of an earlier export)"
    )


def _latest_full_before(store: Store, system: str, cycle: str) -> str | None:
    earlier = [c for c in store.cycles(system, "full") if c < cycle]
    return earlier[-1] if earlier else None


def _assignment_members(store: Store, system: str, cycle: str) -> list[str] | None:
    """Members of the app-assignment group in the full export of ``cycle`` (None: no such export)."""
    ref = store.export(system, cycle, "full")
    if not ref.manifest_path.is_file():
        return None
    with contextlib.suppress(FileNotFoundError):
        table = pq.read_table(ref.table("memberships"), columns=["group_id", "member_id"])
        mask = pc.starts_with(table.column("group_id"), ASSIGNMENT_GROUP_PREFIX)
        return sorted(str(m) for m in table.filter(mask).column("member_id").to_pylist())
    return None


def _assignment_if_changed(
    crawl: EntraCrawl | OktaCrawl,
    writer: ExportWriter,
    base: list[str],
    origin: dict[str, Any],
    declared: ExtensionSchemas,
) -> None:
    """Add the app-assignment group to a delta export when its members changed since the base."""
    population = crawl._population()
    if population != base:
        resource = crawl.assignment_resource(population)
        declared.add(resource)
        writer.add(normalise(resource))
        origin["app_assignment_changed"] = {"now": len(population), "base": len(base)}
