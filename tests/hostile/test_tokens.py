"""Hostile token endpoints: Okta's OAuth token request and Entra sign-in through MSAL are held to
the same limits as a SCIM page (issue 16). Every case ends with one line naming the endpoint and
the limit, exit 2, nothing published, and no secret (the client secret, the private key, the
token) printed. The server is tests/hostile/hostile_server.py; Entra's speaks TLS, as MSAL needs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from recon.simulate.local_tls import make_tls  # the Graph server's throwaway CA (one owner)

from .helpers import Outcome, assert_one_line_error, recon
from .hostile_server import TOKEN_ISSUED, Behaviour, hostile_server

SECRET = "entra-client-secret-value-0123456789"
TENANT = "contoso.onmicrosoft.com"

# mode -> what the one line says (besides the endpoint's URL)
CASES = {
    "trickle_headers": ("no complete status line and headers after 1 s", "RECON_RESPONSE_DEADLINE"),
    "stall": ("answer still arriving after 1 s", "RECON_RESPONSE_DEADLINE"),
    "huge": ("answer over 1 MiB (on the wire)", "RECON_MAX_TOKEN_BYTES"),
    "bomb": ("answer over 1 MiB (after decompression)", "RECON_MAX_TOKEN_BYTES"),
    "deep": ("nested deeper than 64 levels", "RECON_MAX_JSON_DEPTH"),
    "html": ("answered with an HTML page, not JSON",),
    "latin1": ("body is not UTF-8 (byte",),
    "bad_token": ("an access token that cannot travel in an HTTP header",),
    "bad_expiry": ("an expires_in that is not a number of seconds",),
}
# 1 s: the hostile servers still trickle several bytes into it (one every 0.2 s), and no test waits long
ENV = {"RECON_RESPONSE_DEADLINE": "1"}


def _behaviour(**options: object) -> Behaviour:
    return Behaviour(size=8 * 2**20, depth=5000, interval=0.2, **options)  # type: ignore[arg-type]


def _extract(tmp_path: Path, config: Path, system: str, env: dict[str, str]) -> tuple[Outcome, float]:
    started = time.monotonic()
    outcome = recon(
        "extract",
        "--system",
        system,
        "--cycle",
        "c1",
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path / "d"),
        env={**ENV, **env},
    )
    return outcome, time.monotonic() - started


def _check(outcome: Outcome, elapsed: float, tmp_path: Path, *fragments: str, secrets: list[str]) -> str:
    line = assert_one_line_error(outcome, *fragments)
    for secret in [*secrets, TOKEN_ISSUED, "X-Injected"]:
        assert secret not in outcome.stderr, secret
    assert "\x1b" not in outcome.stderr
    assert elapsed < 12, elapsed  # the deadline is 1 s; the read timeout 60 s
    assert not list((tmp_path / "d").rglob("manifest.json"))
    return line


# -- Okta: OAuth 2.0 service app (private-key JWT) ---------------------------------------------


@pytest.fixture(scope="module")
def okta_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path_factory.mktemp("okta") / "okta.pem"
    path.write_text(pem)
    return path, pem.splitlines()[1]  # a line of the key: must never be printed


def _okta(tmp_path: Path, url: str, key: Path) -> Path:
    config = tmp_path / "recon.toml"
    config.write_text(
        f'[systems.okta]\nkind = "okta"\nbase_url = "{url.removesuffix("/v2")}"\napp_id = "0oa1app"\n'
        f'client_id = "0oa1svc"\nprivate_key_file = "{key}"\ntimeout = 60\nmax_retries = 2\n'
    )
    return config


@pytest.mark.parametrize("mode", list(CASES))
def test_hostile_okta_token_endpoint_is_one_line(
    tmp_path: Path, okta_key: tuple[Path, str], mode: str
) -> None:
    behaviour = _behaviour(token=mode)
    with hostile_server(behaviour) as url:
        outcome, elapsed = _extract(tmp_path, _okta(tmp_path, url, okta_key[0]), "okta", {})
    line = _check(outcome, elapsed, tmp_path, *CASES[mode], "/oauth2/v1/token", secrets=[okta_key[1]])
    assert line.count("/oauth2/v1/token") == 1
    tokens = [r for r in behaviour.requests if r[1].endswith("/oauth2/v1/token")]
    assert len(tokens) == 1  # a token request is not retried
    assert not [r for r in behaviour.requests if r[0] == "GET"]  # no API call without a token


# -- Entra ID: MSAL (OpenID discovery, then the token endpoint) over TLS -----------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls(tmp_path_factory.mktemp("tls"))


def _entra(tmp_path: Path, url: str, ca: Path) -> Path:
    base = url.removesuffix("/v2")
    config = tmp_path / "recon.toml"
    config.write_text(
        f'[systems.entra]\nkind = "entra"\ntenant_id = "{TENANT}"\nclient_id = "11111111-2222"\n'
        f'client_secret_env = "HOSTILE_ENTRA_SECRET"\napp_id = "99999999-aaaa"\ngraph_url = "{base}"\n'
        f'login_url = "{base}"\nca_bundle = "{ca}"\ntimeout = 60\nmax_retries = 2\n'
    )
    return config


@pytest.fixture
def entra(tls: tuple[Path, Path, Path]) -> Iterator[tuple[Behaviour, str]]:
    behaviour = _behaviour()
    with hostile_server(behaviour, tls=(tls[1], tls[2])) as url:
        yield behaviour, url


@pytest.mark.parametrize("mode", list(CASES))
def test_hostile_entra_token_endpoint_is_one_line(
    tmp_path: Path, tls: tuple[Path, Path, Path], entra: tuple[Behaviour, str], mode: str
) -> None:
    behaviour, url = entra
    behaviour.token = mode
    outcome, elapsed = _extract(
        tmp_path, _entra(tmp_path, url, tls[0]), "entra", {"HOSTILE_ENTRA_SECRET": SECRET}
    )
    _check(outcome, elapsed, tmp_path, *CASES[mode], "/oauth2/v2.0/token", secrets=[SECRET])
    assert sum(1 for r in behaviour.requests if r[1].endswith("/oauth2/v2.0/token")) == 1


@pytest.mark.parametrize("mode", ["trickle_headers", "huge", "deep", "html", "latin1"])
def test_hostile_entra_discovery_is_one_line(
    tmp_path: Path, tls: tuple[Path, Path, Path], entra: tuple[Behaviour, str], mode: str
) -> None:
    behaviour, url = entra
    behaviour.discovery = mode
    outcome, elapsed = _extract(
        tmp_path, _entra(tmp_path, url, tls[0]), "entra", {"HOSTILE_ENTRA_SECRET": SECRET}
    )
    _check(outcome, elapsed, tmp_path, *CASES[mode], "openid-configuration", secrets=[SECRET])
    assert not [r for r in behaviour.requests if r[0] == "POST"]  # no secret sent anywhere
