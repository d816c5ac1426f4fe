"""``recon discover``: read a SCIM server's capabilities and store capabilities.json."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    echo,
    emit_json,
    open_config,
    open_store,
    warn,
    warn_plain_http,
)


def register(app: typer.Typer) -> None:
    """Add ``discover`` to the app."""
    app.command("discover")(discover_command)


def discover_command(
    system: Annotated[str, typer.Option("--system", help="System name from recon.toml.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read /ServiceProviderConfig, /ResourceTypes and /Schemas; store and print the capability map."""
    from recon.extract.live import discover_and_save
    from recon.scim.client import ScimClient

    store = open_store(data_dir)
    system_config = open_config(config).system(system)
    warn_plain_http(system_config.base_url)
    if system_config.kind != "scim":
        _discover_source(store, system_config, as_json)
        return
    with ScimClient.from_config(system_config) as client:
        capabilities = discover_and_save(store, client, system)
    path = store.capabilities_dir(system) / "capabilities.json"
    advertised = capabilities.advertised
    if as_json:
        emit_json({"capabilities": str(path), "system": system, "advertised": _summary(advertised)})
        return
    echo(f"capabilities of {system} ({capabilities.base_url}) -> {path}")
    for name, value in _rows(advertised):
        echo(f"  {name:<24} {value}")
    for endpoint in advertised.get("endpoints_missing") or []:
        warn(f"{endpoint} is not served (404/501): that part of the map is empty")


def _discover_source(store: Any, system_config: Any, as_json: bool) -> None:
    """``recon discover`` for an Entra or Okta system: sign in, read a page of each, store the map."""
    from recon.sources.extract import discover_source

    found = discover_source(store, system_config)
    if as_json:
        emit_json(
            {
                "capabilities": str(found.path),
                "system": found.system,
                "kind": found.kind,
                "checks": found.checks,
            }
        )
        return
    echo(f"capabilities of {found.system} ({found.kind}, {found.base_url}) -> {found.path}")
    for name, value in found.checks.items():
        echo(f"  {name:<24} {value}")
    echo(f"  {'mapping (users)':<24} {len(found.mapping['users'])} attributes (see docs/sources.md)")


def _summary(advertised: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in advertised.items() if key not in ("schemas", "service_provider_config")
    }


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


def _rows(advertised: dict[str, Any]) -> list[tuple[str, str]]:
    bulk = advertised.get("bulk") or {}
    filters = advertised.get("filter") or {}
    paging = advertised.get("pagination") or {}
    methods = [m for m in ("cursor", "index") if paging.get(m)] or ["index (assumed)"]
    sizes = f"default {paging.get('defaultPageSize') or '?'}, max {paging.get('maxPageSize') or '?'}"
    rows = [
        (
            "bulk",
            f"{_yes(bulk.get('supported'))} (maxOperations {bulk.get('maxOperations')}, "
            f"maxPayloadSize {bulk.get('maxPayloadSize')})",
        ),
        ("filter", f"{_yes(filters.get('supported'))} (maxResults {filters.get('maxResults')})"),
        ("sort", _yes((advertised.get("sort") or {}).get("supported"))),
        ("etag", _yes((advertised.get("etag") or {}).get("supported"))),
        ("patch", _yes((advertised.get("patch") or {}).get("supported"))),
        (
            "pagination",
            f"{', '.join(methods)}; page size {sizes}"
            + ("" if paging.get("advertised") else " (not advertised)"),
        ),
        (
            "resource types",
            ", ".join(str(rt.get("name")) for rt in advertised.get("resource_types") or []) or "-",
        ),
    ]
    attributes = advertised.get("attributes") or {}
    user = attributes.get("urn:ietf:params:scim:schemas:core:2.0:User") or {}
    for path in ("userName", "emails.value", "externalId"):
        found = user.get(path)
        if found:
            rows.append(
                (f"User.{path}", f"caseExact {found.get('caseExact')}, uniqueness {found.get('uniqueness')}")
            )
    return rows
