"""Access tokens for the providers; the secrets are read when needed and never kept in files.

- Entra ID: OAuth 2.0 client credentials through MSAL (Microsoft's token library): a client
  secret or a certificate (a PEM file holding the private key and the certificate). National
  clouds and local fakes through ``login_url``; MSAL only talks https, so a private CA is
  trusted through ``ca_bundle``. A token Graph rejects (401) is dropped from MSAL's cache and
  a new one asked for, once per rejection.
- Okta: an API token sent as ``Authorization: SSWS …`` (cannot be renewed), or an OAuth 2.0
  service app: client credentials with a private-key JWT (``client_assertion``, RFC 7523)
  at ``{base_url}/oauth2/v1/token``; the access token is renewed before it expires and when
  rejected.
"""

from __future__ import annotations

import ssl
import time
import uuid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from recon.config.providers import EntraSettings, OktaSettings, read_secret
from recon.errors import ConfigError, ScimError
from recon.safe_text import one_line
from recon.sources.token_http import (
    MsalSession,
    access_token,
    token_exchange,
    token_json,
    token_lifetime,
)

__all__ = ["EntraToken", "OktaServiceToken", "OktaSsws", "TokenSource", "ssl_context"]

_MICROSOFT_LOGIN_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)


class TokenSource(Protocol):
    """Where a provider client gets its ``Authorization`` header."""

    refreshes: int

    def header(self) -> str:
        """The ``Authorization`` header value (a token is fetched if needed)."""

    def token(self) -> str:
        """The bare token (for redaction)."""

    def renew(self) -> bool:
        """Drop the current token after a 401; False when it cannot be renewed."""

    def secrets(self) -> list[str]:
        """Every secret this source holds (redacted from messages)."""


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Verification always on; a CA bundle file adds a private CA."""
    if ca_bundle is not None and not ca_bundle.is_file():
        raise ConfigError(f"CA bundle {ca_bundle} does not exist")
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class EntraToken:
    """Client-credentials tokens for Microsoft Graph from MSAL."""

    def __init__(self, name: str, settings: EntraSettings, ca_bundle: Path | None, timeout: float) -> None:
        import msal  # type: ignore[import-untyped]

        where = f"systems.{name}"
        self._secrets: list[str] = []
        credential: Any
        if settings.client_certificate_file is not None:
            credential = _certificate_credential(where, settings)
            self._secrets.append(credential["private_key"])
        else:
            secret = read_secret(
                f"{where}.client_secret_env/client_secret_file",
                settings.client_secret_env,
                settings.client_secret_file,
            )
            if not secret:
                raise ConfigError(f"{where}: no client secret")
            credential = secret
            self._secrets.append(secret)
        host = urlsplit(settings.login_url).hostname or ""
        self.scopes = [f"{settings.graph_url}/.default"]
        self.refreshes = 0
        self._token: str | None = None
        self._authority = f"{settings.login_url}/{settings.tenant_id}"
        self._http = MsalSession(ssl_context(ca_bundle), timeout)
        try:
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=credential,
                authority=self._authority,
                http_client=self._http,
                instance_discovery=None if host in _MICROSOFT_LOGIN_HOSTS else False,
                token_cache=msal.TokenCache(),
            )
        except ScimError as exc:  # an answer outside the limits (token_http): already one line
            self._http.close()
            raise self._redacted(exc) from None
        except Exception as exc:  # MSAL reports discovery failures as ValueError
            self._http.close()
            raise ScimError(
                _redact(
                    f"Entra sign-in setup failed at {settings.login_url}: {one_line(str(exc), 300)}",
                    self._secrets,
                ),
                url=settings.login_url,
            ) from None

    def _redacted(self, exc: ScimError) -> ScimError:
        error = ScimError(_redact(str(exc), self._secrets), status=exc.status)
        error.url = exc.url
        return error

    def token(self) -> str:
        if self._token is None:
            try:
                result = self._app.acquire_token_for_client(scopes=self.scopes)
            except ScimError as exc:
                raise self._redacted(exc) from None
            except Exception as exc:
                raise ScimError(
                    _redact(f"Entra token request failed: {one_line(str(exc), 300)}", self._secrets)
                ) from None
            if "access_token" not in result:
                error = result.get("error", "error")
                detail = str(result.get("error_description", "")).splitlines()[0][:200]
                raise ScimError(
                    _redact(
                        f"Entra refused a token: {error} ({detail}); check client_id and the secret",
                        self._secrets,
                    ),
                    status=401,
                )
            endpoint = getattr(self._app.authority, "token_endpoint", None) or self._authority
            self._token = access_token(result["access_token"], "the Entra token endpoint", str(endpoint))
        return self._token

    def header(self) -> str:
        return f"Bearer {self.token()}"

    def close(self) -> None:
        """Close the sign-in's HTTP client."""
        self._http.close()

    def renew(self) -> bool:
        self._app.remove_tokens_for_client()
        self._token = None
        self.refreshes += 1
        return True

    def secrets(self) -> list[str]:
        return [*self._secrets, *([self._token] if self._token else [])]


def _certificate_credential(where: str, settings: EntraSettings) -> dict[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    path = settings.client_certificate_file
    assert path is not None
    try:
        pem = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}.client_certificate_file: cannot read {path} ({exc.strerror})") from exc
    if "PRIVATE KEY" not in pem or "CERTIFICATE" not in pem:
        raise ConfigError(
            f"{where}.client_certificate_file: {path} must hold the private key and the certificate (PEM)"
        )
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise ConfigError(
            f"{where}.client_certificate_file: {path}: no readable certificate ({exc})"
        ) from exc
    # With the certificate itself (not a thumbprint) MSAL signs with PS256 and names the key by
    # its SHA-256 thumbprint (x5t#S256) and chain (x5c), as Microsoft recommends.
    public = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    credential = {"private_key": pem, "public_certificate": public}
    password = read_secret(
        f"{where}.client_certificate_password_env",
        settings.client_certificate_password_env,
        None,
        header=False,
    )
    if password:
        credential["passphrase"] = password
    return credential


class OktaSsws:
    """An Okta API token (``SSWS``): sent as is, never renewed."""

    def __init__(self, name: str, settings: OktaSettings) -> None:
        token = read_secret(f"systems.{name}.token_env/token_file", settings.token_env, settings.token_file)
        if not token:
            raise ConfigError(f"systems.{name}: no Okta API token")
        self._token = token
        self.refreshes = 0

    def token(self) -> str:
        return self._token

    def header(self) -> str:
        return f"SSWS {self._token}"

    def renew(self) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [self._token]


class OktaServiceToken:
    """Okta OAuth 2.0 service app: client credentials with a private-key JWT assertion."""

    def __init__(
        self,
        name: str,
        settings: OktaSettings,
        http: httpx.Client,
        clock: Any = time.time,
    ) -> None:
        path = settings.private_key_file
        assert path is not None and settings.client_id is not None
        try:
            self._key = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"systems.{name}.private_key_file: cannot read {path} ({exc.strerror})"
            ) from exc
        self._client_id = settings.client_id
        self._key_id = settings.key_id
        self._scopes = settings.scopes
        self._url = f"{settings.base_url}/oauth2/v1/token"
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.refreshes = 0

    def _assertion(self) -> str:
        import jwt

        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._url,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        try:
            return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"private_key_file: not a usable RSA private key (PEM): {type(exc).__name__}"
            ) from None

    def token(self) -> str:
        if self._token is None or self._clock() >= self._expires - 60:
            data = {
                "grant_type": "client_credentials",
                "scope": " ".join(self._scopes),
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self._assertion(),
            }
            what = "the Okta token endpoint"
            answer = token_exchange(
                self._http, what, "POST", self._url, data=data, headers={"Accept": "application/json"}
            )
            body = token_json(answer, what)
            if answer.status != 200 or "access_token" not in body:
                error = body.get("error")
                error_text = one_line(error, 100) if isinstance(error, str) else ""
                raise ScimError(
                    f"Okta refused a token: HTTP {answer.status} {error_text}".strip()
                    + "; check client_id, the key and the app's granted scopes",
                    url=answer.url,
                    status=answer.status,
                )
            self._token = access_token(body["access_token"], what, answer.url)
            self._expires = self._clock() + token_lifetime(body.get("expires_in"), what, answer.url)
        return self._token

    def header(self) -> str:
        return f"Bearer {self.token()}"

    def renew(self) -> bool:
        self._token = None
        self.refreshes += 1
        return True

    def close(self) -> None:
        """Close the token endpoint's HTTP client."""
        self._http.close()

    def secrets(self) -> list[str]:
        return [self._key, *([self._token] if self._token else [])]
