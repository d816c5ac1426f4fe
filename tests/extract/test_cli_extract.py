"""``recon discover`` / ``recon extract`` end to end: exit codes, output, secrets, kill + --resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_scim import TOKEN, FakeScim
from scim_server import ScimServer, ScimServerFactory

from recon.cli import main
from recon.scim.client import ScimClient

pytestmark = pytest.mark.live


def write_config(tmp_path: Path, base_url: str, name: str = "app", **extra: Any) -> Path:
    lines = [f"[systems.{name}]", f'base_url = "{base_url}"', 'token_env = "APP_SCIM_TOKEN"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path = tmp_path / "recon.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def small_rich(scim_server_module: ScimServerFactory) -> ScimServer:
    """Read-only for its tests (an extract, a refused token): one server for the module."""
    return scim_server_module("rich", users=130, groups=3)


def test_discover_and_extract_through_the_cli(
    small_rich: ScimServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("APP_SCIM_TOKEN", small_rich.token)
    config = write_config(tmp_path, small_rich.base_url, page_size=50)
    data = tmp_path / "data"
    common = ["--system", "app", "--config", str(config), "--data-dir", str(data)]

    assert main(["discover", *common]) == 0
    out = capsys.readouterr().out
    assert "pagination               cursor, index; page size default 100, max 1000" in out
    assert "User.userName            caseExact False, uniqueness server" in out

    assert main(["extract", *common, "--cycle", "c1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = printed["manifest"]
    assert (manifest["status"], manifest["rows"]["users"], manifest["rows"]["groups"]) == ("complete", 130, 3)
    assert manifest["origin"]["plan"]["page_size"] == 50

    assert main(["extract", *common, "--cycle", "c2", "--resources", "Users", "--since", "2020-01-01"]) == 0
    captured = capsys.readouterr()
    assert "extracted app cycle c2 (delta, complete): 130 users" in captured.out
    assert 'filter: meta.lastModified gt "2020-01-01T00:00:00Z" (applied by the server)' in captured.out
    assert small_rich.token not in captured.out + captured.err + files_text(data)


def test_wrong_token_exits_2_with_one_clear_line(
    small_rich: ScimServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("APP_SCIM_TOKEN", "not-the-token-xyz")
    config = write_config(tmp_path, small_rich.base_url)
    code = main(["extract", "--system", "app", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert "authentication failed: HTTP 401" in err and "token_env" in err
    assert "not-the-token-xyz" not in err
    assert len(err.strip().splitlines()) == 1


def test_connection_refused_exits_2_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("APP_SCIM_TOKEN", "t")
    config = write_config(tmp_path, f"http://127.0.0.1:{port}/v2")
    started = time.monotonic()
    code = main(["extract", "--system", "app", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    assert code == 2
    assert "cannot connect" in capsys.readouterr().err
    assert time.monotonic() - started < 5


def test_partial_export_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeScim(users=25, total_lie=30)
    monkeypatch.setattr(ScimClient, "from_config", classmethod(lambda cls, system, **kw: fake.client()))
    monkeypatch.setenv("APP_SCIM_TOKEN", TOKEN)
    config = write_config(tmp_path, "https://scim.example.test/v2")
    code = main(["extract", "--system", "app", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert code == 1
    assert "(full, partial)" in captured.out
    assert "! items_missing" in captured.out
    assert "the export is partial" in captured.err


@pytest.mark.slow
def test_killed_extract_leaves_nothing_complete_and_resume_finishes(
    scim_server: ScimServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = scim_server("limited", users=400)
    config = write_config(tmp_path, server.base_url, page_size=20, rate_limit=8)
    data = tmp_path / "data"
    env = {**os.environ, "APP_SCIM_TOKEN": server.token}
    args = [sys.executable, "-m", "recon", "extract", "--system", "app", "--cycle", "k1"]
    args += ["--config", str(config), "--data-dir", str(data), "--resources", "Users"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    index = data / ".staging" / "extract-resume" / "app" / "k1.full" / "pages.ndjson"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not index.is_file() or len(index.read_bytes().splitlines()) < 3):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    kept = len(index.read_bytes().splitlines())
    assert 3 <= kept < 20
    assert not list(data.rglob("manifest.json"))

    resume = ["extract", "--system", "app", "--config", str(config), "--data-dir", str(data)]
    resume += ["--resources", "Users", "--resume", "--rate-limit", "1000", "--json"]
    monkeypatch.setenv("APP_SCIM_TOKEN", server.token)
    assert main(resume) == 0
    manifest = json.loads(capsys.readouterr().out)["manifest"]
    assert (manifest["cycle"], manifest["status"], manifest["rows"]["users"]) == ("k1", "complete", 400)
    assert manifest["origin"]["resumed_pages"] == kept
