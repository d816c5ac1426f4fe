"""One webhook message per audit with threshold breaches (Slack/Teams-compatible ``{"text": ...}``).

The URL is a secret: it comes from the environment variable named by ``[notify] webhook_url_env``
and appears in no message, log line or file (errors name the variable, never the URL). The post
is made once, with a timeout and without retries or redirects: a retry after a timeout could post
the same alert twice, and a missed alert is still visible in the exit code, the metrics
(``recon_threshold_exceeded``) and ``audit.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from recon.audit.thresholds import Breach
from recon.errors import ReconError

__all__ = ["MAX_LISTED", "message", "post"]

MAX_LISTED = 10  # breaches listed in one message; the rest are counted
_MAX_CHARS = 3500  # Slack shows ~4,000 characters of text; Teams is similar


def message(cycle: str, breaches: Sequence[Breach], report: Path | None, not_audited: Sequence[str]) -> str:
    """The text posted: what breached, by how much, and where the report is."""
    lines = [f"recon audit {cycle}: {len(breaches)} threshold{'s' if len(breaches) != 1 else ''} exceeded"]
    lines += [f"- {breach.describe()}" for breach in breaches[:MAX_LISTED]]
    if len(breaches) > MAX_LISTED:
        lines.append(f"- and {len(breaches) - MAX_LISTED} more")
    if not_audited:
        lines.append(f"not audited (not clean): {', '.join(not_audited)}")
    if report is not None:
        lines.append(f"report: {report}")
    text = "\n".join(lines)
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1] + "…"


def post(url: str, text: str, *, timeout: float, env_name: str) -> int:
    """POST ``{"text": text}`` to ``url`` once; returns the HTTP status. Raises :class:`ReconError`
    naming ``env_name`` (not the URL) when the post fails or is refused."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, json={"text": text})
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # messages hold the URL: type only
        raise ReconError(f"the webhook in ${env_name} could not be reached ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise ReconError(f"the webhook in ${env_name} answered HTTP {response.status_code}")
    return response.status_code
