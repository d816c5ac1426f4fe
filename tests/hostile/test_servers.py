"""Hostile servers: bombs, huge and trickled pages, deep nesting, escapes in error text, tokens
that cannot travel in a header (issue 16, classes 2-4). Every case ends with one line and exit 2
(nothing read) and is never retried; memory stays bounded."""

from __future__ import annotations

import json
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
        outcome = _extract(tmp_path, _config(tmp_path, url), env={"RECON_RESPONSE_DEADLINE": "2"})
    assert_one_line_error(outcome, "still arriving after 2 s", "RECON_RESPONSE_DEADLINE")
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
