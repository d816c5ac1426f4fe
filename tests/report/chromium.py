"""Headless Chromium: a screenshot of a local HTML file and the network requests the page made."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def chromium_or_skip() -> str:
    """Path of the chromium binary; skips the test (with the reason) when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it as root)"
    )


@dataclass
class Rendered:
    screenshot: Path
    page_requests: list[str]  # URLs the page itself asked the network for (not the browser's own traffic)


def render(browser: str, html: Path, out: Path, *, width: int = 1280, height: int = 2400) -> Rendered:
    """Load ``html`` from file:// in headless Chromium; screenshot it and log its network requests."""
    netlog = out / f"{html.stem}.netlog.json"
    screenshot = out / f"{html.stem}.png"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={screenshot}",
                f"--window-size={width},{height}",
                "--virtual-time-budget=5000",
                f"--log-net-log={netlog}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0 and screenshot.is_file(), done.stderr[-2000:]
    return Rendered(screenshot, page_requests(netlog))


def page_requests(netlog: Path) -> list[str]:
    """Non-file URLs requested on behalf of a page loaded from file:// (its isolation key is file://)."""
    log = json.loads(netlog.read_text())
    names = {value: key for key, value in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if "file://" in str(params.get("network_isolation_key", "")) and not params["url"].startswith(
            "file:"
        ):
            urls.append(params["url"])
    return urls
