"""A system of ``recon.toml`` → its export, whatever its kind (CONTRACT §2 "System kinds").

``scim`` systems are crawled by :mod:`recon.extract.live` (discovery first when needed); ``entra``
and ``okta`` systems by :mod:`recon.sources.extract` over their own APIs. Callers (``recon
extract``, ``recon audit``, the post-apply export of ``recon bulk apply``) ask here, so the kind
dispatch lives in one place above both.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recon.capabilities import load_capabilities
from recon.config.toml import Config, SystemConfig
from recon.extract.crawl import ExtractRequest
from recon.extract.live import ExtractResult, Progress, discover_and_save, extract_live
from recon.scim.client import ScimClient, redact_url
from recon.sources.extract import extract_source
from recon.store import Store

__all__ = ["ExtractRequest", "ExtractResult", "extract_system"]


def extract_system(
    store: Store,
    config: Config,
    request: ExtractRequest,
    *,
    progress: Progress | None = None,
    overrides: dict[str, Any] | None = None,
    client: ScimClient | None = None,
) -> ExtractResult:
    """``recon extract``: the system from recon.toml (token from its env/file), discovery when needed.

    ``overrides`` replaces SystemConfig fields (e.g. ``rate_limit``, ``ca_bundle``) for this run.
    """
    system: SystemConfig = config.system(request.system)
    if overrides:
        system = replace(system, **{k: v for k, v in overrides.items() if v is not None})
    if system.kind != "scim":  # Entra ID / Okta: their own APIs
        return extract_source(store, system, request)
    own = client is None
    scim = client or ScimClient.from_config(system)
    try:
        capabilities = load_capabilities(store, request.system)
        if capabilities is None or capabilities.base_url != redact_url(scim.base_url):
            capabilities = discover_and_save(store, scim, request.system)
        return extract_live(
            store,
            scim,
            request,
            capabilities=capabilities,
            page_size=system.page_size,
            concurrency=system.concurrency,
            progress=progress,
        )
    finally:
        if own:
            scim.close()
