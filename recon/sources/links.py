"""Graph delta links as watermarks: recognised and shown without their opaque tokens."""

from __future__ import annotations

import httpx

__all__ = ["is_link", "redact_link"]

_OPAQUE = ("$deltatoken", "$skiptoken")


def is_link(watermark: str) -> bool:
    """True when a manifest's watermark is a delta link (a position), not a timestamp."""
    return watermark.startswith(("https://", "http://"))


def redact_link(link: str) -> str:
    """``link`` with each ``$deltatoken``/``$skiptoken`` value cut to its first 6 characters."""
    url = httpx.URL(link)
    params = [
        (key, value[:6] + "…" if key.lower() in _OPAQUE and len(value) > 8 else value)
        for key, value in url.params.multi_items()
    ]
    return str(url.copy_with(params=params))
