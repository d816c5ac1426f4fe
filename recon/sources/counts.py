"""The provider's own count of users and groups beside what a full export holds, so a user can
check a first export against the admin console.

- Entra: ``GET /users/$count`` and ``GET /groups/$count`` with ``ConsistencyLevel: eventual``
  (Graph's advanced query capabilities; ``text/plain``), asked right before the listing. The
  count is eventually consistent: a difference of a few objects just after changes in the tenant
  is expected; run the export again before looking further.
- Okta: the Management API has no count endpoint (listings are paged by cursor, without a
  total); nothing is recorded and the admin console is the only count.

The counts are the manifest's ``total_results`` (CONTRACT §3 "totalResults reported"); the
comparison is ``origin.count_check``, and a difference is a ``provider_count_differs`` anomaly
(shown, not a reason for ``partial``: the listing, not the count, is the export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recon.store import Manifest

__all__ = ["GRAPH_COUNT", "OKTA_NO_COUNT", "CountCheck", "check_counts", "count_lines"]

GRAPH_COUNT = "GET /users/$count, /groups/$count (ConsistencyLevel: eventual)"
OKTA_NO_COUNT = "none: the Okta Management API has no count endpoint"
_CONSOLE = {
    "entra": {
        "Users": "Entra admin center > Users > All users",
        "Groups": "Entra admin center > Groups > All groups",
    },
    "okta": {
        "Users": "Okta Admin Console > Directory > People, status All",
        "Groups": "Okta Admin Console > Directory > Groups",
    },
}


@dataclass(frozen=True)
class CountCheck:
    """One resource type: how many the export holds and how many the provider says it has."""

    resource: str
    exported: int
    provider: int | None

    @property
    def differs(self) -> bool:
        return self.provider is not None and self.provider != self.exported


def check_counts(
    manifest: Manifest, provider: dict[str, int | None], exported: dict[str, int], source: str
) -> list[CountCheck]:
    """Record the provider's counts in ``manifest`` (``total_results``, ``origin.count_check``)
    beside the exported ones, with an anomaly for each difference; the checks made."""
    checks = [CountCheck(r, exported[r], provider.get(r)) for r in ("Users", "Groups") if r in exported]
    manifest.total_results = {check.resource: check.provider for check in checks}
    manifest.origin["count_check"] = {
        "source": source,
        **{c.resource: {"exported": c.exported, "provider": c.provider} for c in checks},
    }
    for check in checks:
        if check.differs:
            manifest.add_anomaly(
                "provider_count_differs",
                f"{check.exported} {check.resource.lower()} exported, the provider counts {check.provider} "
                "(eventually consistent: export again, then compare with the admin console)",
                affects_completeness=False,
            )
    return checks


def count_lines(manifest: Manifest) -> list[str]:
    """What ``recon extract`` prints about the counts of a provider's full export (no lines for
    other exports): exported vs the provider's count, a difference marked ``!``."""
    check = manifest.origin.get("count_check")
    provider = manifest.origin.get("provider")
    if not isinstance(check, dict) or provider not in _CONSOLE:
        return []
    lines = [f"provider count: {check.get('source')}"]
    for resource in ("Users", "Groups"):
        entry: Any = check.get(resource)
        if not isinstance(entry, dict):
            continue
        exported, counted = entry.get("exported"), entry.get("provider")
        console = _CONSOLE[provider][resource]
        extra = (
            " (besides the app-assignment group)"
            if resource == "Groups" and manifest.origin.get("app_assignment")
            else ""
        )
        if counted is None:
            lines.append(f"- {resource.lower()}: {exported:,} exported{extra}; compare with {console}")
        elif counted == exported:
            lines.append(
                f"- {resource.lower()}: {exported:,} exported{extra} = {counted:,} counted by {provider}"
            )
        else:
            lines.append(
                f"! {resource.lower()}: {exported:,} exported{extra}, {provider} counts {counted:,}: "
                f"DIFFERENT (the count is eventually consistent: export again; then compare with {console})"
            )
    return lines
