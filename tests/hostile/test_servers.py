"""Hostile servers: bombs, huge and trickled pages, deep nesting, escapes in error text, tokens
that cannot travel in a header (issue 16, classes 2-4). Every case ends with one line and exit 2
(nothing read) and is never retried; memory stays bounded."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from .helpers import assert_one_line_error, recon
from .hostile_server import Behaviour, hostile_server

TOKEN = "t0ken-for-tests-0123456789"


def _config(tmp_path: Path, base_url: str, extra: str = "") -> Path:
    path = tmp_path / "recon.toml"
    path.write_text(  # a generous read timeout: a busy machine must not turn a limit into a retry
        f'[systems.app]\nbase_url = "{base_url}"\ntoken_env = "HOSTILE_TOKEN"\ntimeout = 60\n'
        f"max_retries = 2\n{extra}"
    )
    return path


def _extract(tmp_path: Path, config: Path, *, env: dict[str, str] | None = None, isolate: bool = False):
    return recon(
        "extract",
        "--system",
        "app",
        "--cycle",
        "c1",
        "--resources",
        "Users",
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path / "d"),
        env={"HOSTILE_TOKEN": TOKEN, **(env or {})},
        isolate=isolate,
    )


def _list_requests(behaviour: Behaviour) -> int:
    return sum(1 for _, path, _ in behaviour.requests if "/Users" in path)


def test_honest_server_extracts(tmp_path: Path) -> None:
    behaviour = Behaviour()
    with hostile_server(behaviour) as url:
        outcome = _extract(tmp_path, _config(tmp_path, url))
    assert outcome.code == 0, outcome.stderr


def test_gzip_bomb_is_stopped_at_the_cap_and_not_retried(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="bomb", size=256 * 2**20)
    with hostile_server(behaviour) as url:
        outcome = _extract(
            tmp_path, _config(tmp_path, url), env={"RECON_MAX_RESPONSE_BYTES": "16MiB"}, isolate=True
        )
    assert_one_line_error(
        outcome, "body over 16 MiB (after decompression)", "RECON_MAX_RESPONSE_BYTES", "/Users"
    )
    assert _list_requests(behaviour) == 1
    assert outcome.peak_mb < 400, outcome.peak_mb
    assert not list((tmp_path / "d").rglob("manifest.json"))


def test_huge_page_is_stopped_at_the_cap(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="huge", size=200 * 2**20)
    with hostile_server(behaviour) as url:
        outcome = _extract(
            tmp_path, _config(tmp_path, url), env={"RECON_MAX_RESPONSE_BYTES": "32MiB"}, isolate=True
        )
    assert_one_line_error(outcome, "body over 32 MiB", "not retried")
    assert _list_requests(behaviour) == 1
    assert outcome.peak_mb < 400, outcome.peak_mb


def test_trickling_server_meets_the_total_deadline(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="trickle", users=50, interval=0.02)  # ~5 KB at 50 bytes/s: minutes
    started = time.monotonic()
    with hostile_server(behaviour) as url:
        outcome = _extract(tmp_path, _config(tmp_path, url), env={"RECON_RESPONSE_DEADLINE": "1"})
    assert_one_line_error(outcome, "still arriving after 1 s", "RECON_RESPONSE_DEADLINE")
    assert time.monotonic() - started < 20
    assert _list_requests(behaviour) == 1


def test_deep_page_is_one_line_and_not_retried(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="deep", depth=300)
    with hostile_server(behaviour) as url:
        outcome = _extract(tmp_path, _config(tmp_path, url))
    assert_one_line_error(outcome, "nested deeper than 64 levels", "not retried")
    assert _list_requests(behaviour) == 1


def test_server_error_text_is_one_line_with_escapes(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="error")
    with hostile_server(behaviour) as url:
        outcome = _extract(tmp_path, _config(tmp_path, url))
    line = assert_one_line_error(outcome, "HTTP 400")
    assert "\x1b" not in outcome.stderr and "\r" not in outcome.stderr
    assert "\\x1b[31mRED" in line and "\\n" in line


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("abc\ndef-0123456789", "a line break at character 4"),
        ("abc def-0123456789", "a space at character 4"),
        ("abcdéf-0123456789", "a non-ASCII character at character 5"),
        ("abc\x1b[31m-0123456789", "a control character at character 4"),
    ],
)
def test_tokens_that_cannot_travel_in_a_header_are_refused_unprinted(
    tmp_path: Path, token: str, said: str
) -> None:
    behaviour = Behaviour()
    with hostile_server(behaviour) as url:
        outcome = recon(
            "extract",
            "--system",
            "app",
            "--config",
            str(_config(tmp_path, url)),
            "--data-dir",
            str(tmp_path / "d"),
            env={"HOSTILE_TOKEN": token},
        )
    line = assert_one_line_error(outcome, said, "token_env (HOSTILE_TOKEN)")
    assert "0123456789" not in line
    assert not behaviour.requests


def test_file_url_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = _extract(tmp_path, _config(tmp_path, "file:///etc/passwd"))
    assert_one_line_error(outcome, "give an http:// or https:// URL")
    assert time.monotonic() - started < 5


def test_max_retries_zero_means_one_attempt(tmp_path: Path) -> None:
    # a server that is not there: connection refused, no retry at all with max_retries = 0
    config = tmp_path / "recon.toml"
    config.write_text('[systems.app]\nbase_url = "http://127.0.0.1:9/v2"\nmax_retries = 0\ntimeout = 2\n')
    outcome = recon("extract", "--system", "app", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert_one_line_error(outcome, "after 1 attempt(s)")


def test_discover_and_probe_warn_about_plain_http(tmp_path: Path) -> None:
    config = tmp_path / "recon.toml"
    config.write_text(
        '[systems.app]\nbase_url = "http://192.0.2.1:9/v2"\ntoken_env = "HOSTILE_TOKEN"\n'
        "timeout = 0.5\nmax_retries = 0\n"
    )
    for command in ("discover", "probe"):
        outcome = recon(
            command,
            "--system",
            "app",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "d"),
            env={"HOSTILE_TOKEN": TOKEN},
        )
        assert any("plain http" in line for line in outcome.lines), (command, outcome.lines)


def test_redaction_covers_escaped_forms() -> None:
    from recon.scim.client import ScimClient

    token = 'abc/def+ghi=jkl"mn'
    with ScimClient("https://scim.example.test/v2", token) as client:
        text = f"{token} {json.dumps(token)} {token!r} abc%2Fdef%2Bghi%3Djkl%22mn"
        assert "abc" not in client.redact(text)


def test_out_of_range_timestamp_on_a_live_page_is_a_reject_not_a_traceback(tmp_path: Path) -> None:
    behaviour = Behaviour(users=3, extra={"meta": {"lastModified": "9999-12-31T23:59:59-23:59"}})
    with hostile_server(behaviour) as url:
        outcome = _extract(tmp_path, _config(tmp_path, url))
    assert "Traceback" not in outcome.stderr
    assert outcome.code == 1, outcome.stderr  # published partial: one resource rejected, named
    manifest = json.loads(next((tmp_path / "d").rglob("manifest.json")).read_text())
    assert manifest["status"] == "partial"
    assert "out of the representable range" in json.dumps(manifest["anomalies"])


# -- the total deadline covers the whole exchange (connect, status line, headers, body) -------


def _recon_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("recon-")]


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("trickle_headers", "no complete status line and headers after 1 s"),
        ("stall", "answer still arriving after 1 s (0 bytes of body so far)"),
    ],
)
def test_trickled_headers_or_a_stalled_body_meet_the_deadline(tmp_path: Path, mode: str, said: str) -> None:
    # the read timeout is 60 s and restarts on every byte: only the deadline (1 s here) can end these
    behaviour = Behaviour(mode=mode, interval=0.2)
    with hostile_server(behaviour) as url:
        started = time.monotonic()
        outcome = _extract(tmp_path, _config(tmp_path, url), env={"RECON_RESPONSE_DEADLINE": "1"})
        elapsed = time.monotonic() - started
    assert_one_line_error(outcome, said, "not retried", "RECON_RESPONSE_DEADLINE", "/v2/Users)")
    assert elapsed < 10, elapsed
    assert _list_requests(behaviour) == 1
    assert not list((tmp_path / "d").rglob("manifest.json"))
    assert not _recon_threads()


def test_trickled_headers_after_the_first_page_publish_partial(tmp_path: Path) -> None:
    behaviour = Behaviour(mode="trickle_headers", honest=1, users=3, total=6, interval=0.2)
    with hostile_server(behaviour) as url:
        started = time.monotonic()
        outcome = _extract(tmp_path, _config(tmp_path, url), env={"RECON_RESPONSE_DEADLINE": "2"})
        elapsed = time.monotonic() - started
    assert outcome.code == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert elapsed < 10, elapsed
    manifest = json.loads(next((tmp_path / "d").rglob("manifest.json")).read_text())
    assert manifest["status"] == "partial"
    assert manifest["rows"]["users"] == 3
    assert "RECON_RESPONSE_DEADLINE" in json.dumps(manifest["anomalies"])
    assert _list_requests(behaviour) == 2
    assert not _recon_threads()


def test_pages_requested_ahead_all_end_by_the_deadline_without_leaking_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from recon.errors import ScimError
    from recon.scim.client import ScimClient

    monkeypatch.setenv("RECON_RESPONSE_DEADLINE", "1.5")
    behaviour = Behaviour(mode="trickle_headers", honest=1, users=3, total=30, interval=0.2)
    with hostile_server(behaviour) as url, ScimClient(url, TOKEN, timeout=60, max_retries=2) as client:
        started = time.monotonic()
        pages = client.list_pages("Users", page_size=3, concurrency=4)
        with pytest.raises(ScimError, match="RECON_RESPONSE_DEADLINE"):
            for _ in pages:
                pass
        elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed
    assert _list_requests(behaviour) >= 2  # the first page, then pages asked ahead concurrently
    assert not _recon_threads()


def test_provider_client_meets_the_deadline_on_trickled_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    from recon.errors import ScimError
    from recon.sources.http import ProviderClient

    class Ssws:
        refreshes = 0

        def header(self) -> str:
            return f"SSWS {TOKEN}"

        def token(self) -> str:
            return TOKEN

        def renew(self) -> bool:
            return False

        def secrets(self) -> list[str]:
            return [TOKEN]

    monkeypatch.setenv("RECON_RESPONSE_DEADLINE", "1.5")
    behaviour = Behaviour(mode="trickle_headers", interval=0.2)
    with hostile_server(behaviour) as url:
        client = ProviderClient(url, Ssws(), timeout=60, max_retries=2)
        started = time.monotonic()
        with pytest.raises(ScimError) as caught:
            list(client.pages(f"{url}/Users", None, lambda response, body: None))
        elapsed = time.monotonic() - started
        client.close()
    message = str(caught.value)
    assert "no complete status line and headers after 1.5 s" in message and "/v2/Users" in message
    assert TOKEN not in message
    assert elapsed < 6, elapsed
    assert _list_requests(behaviour) == 1
    assert not _recon_threads()
