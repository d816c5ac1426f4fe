"""The recon.toml keys of the provider kinds (CONTRACT §2 "System kinds"), in one place.

``kind = "entra"``::

    tenant_id, client_id, client_secret_env | client_secret_file | client_certificate_file
    (+ client_certificate_password_env), app_id, graph_url, login_url,
    transitive_members (bool), assignment_group, mapping, group_mapping

``kind = "okta"``::

    base_url, token_env | token_file (SSWS) or client_id + private_key_file (+ key_id, scopes)
    (OAuth 2.0 service app, private-key JWT), app_id, assignment_group, mapping, group_mapping

Any kind also takes ``role``, ``ca_bundle``, ``timeout``, ``max_retries``, ``rate_limit`` and
``page_size``. Secrets are read from the environment or a file when used, never kept here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon.config.toml import SYSTEM_KEYS, SYSTEM_KINDS, Key, check_table
from recon.errors import ConfigError
from recon.safe_text import check_token

__all__ = [
    "COMMON_KEYS",
    "KIND_KEYS",
    "EntraSettings",
    "OktaSettings",
    "SourceSettings",
    "parse_source",
    "read_secret",
]

_TEXT = Key((str,))
_TABLE = Key((dict,))
# the keys every kind takes, with the rules of a SCIM system's same keys
COMMON_KEYS: dict[str, Key] = {
    key: SYSTEM_KEYS[key]
    for key in ("kind", "role", "ca_bundle", "timeout", "max_retries", "rate_limit", "page_size")
}
KIND_KEYS: dict[str, dict[str, Key]] = {
    "entra": {
        **COMMON_KEYS,
        "tenant_id": _TEXT,
        "client_id": _TEXT,
        "client_secret_env": _TEXT,
        "client_secret_file": _TEXT,
        "client_certificate_file": _TEXT,
        "client_certificate_password_env": _TEXT,
        "app_id": _TEXT,
        "graph_url": _TEXT,
        "login_url": _TEXT,
        "transitive_members": Key((bool,)),
        "assignment_group": _TEXT,
        "mapping": _TABLE,
        "group_mapping": _TABLE,
    },
    "okta": {
        **COMMON_KEYS,
        "base_url": _TEXT,
        "token_env": _TEXT,
        "token_file": _TEXT,
        "client_id": _TEXT,
        "private_key_file": _TEXT,
        "key_id": _TEXT,
        "scopes": Key((list,), items=str),
        "app_id": _TEXT,
        "assignment_group": _TEXT,
        "mapping": _TABLE,
        "group_mapping": _TABLE,
    },
}
DEFAULT_ASSIGNMENT_GROUP = "app-assignment"
OKTA_SCOPES = ("okta.users.read", "okta.groups.read", "okta.apps.read")


def read_secret(where: str, env: str | None, file: Path | None, *, header: bool = True) -> str | None:
    """The secret named by an ``*_env`` or ``*_file`` key (stripped); never logged.

    With ``header`` (a token or client secret, sent in a header or form field) it must be visible
    ASCII (:func:`recon.safe_text.check_token`); a key's passphrase is not checked.
    """
    value: str | None = None
    if env:
        found = os.environ.get(env)
        if not found:
            raise ConfigError(f"{where}: environment variable {env} is not set")
        value = found.strip()
    elif file:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {file} ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where}: {file} is not UTF-8 text") from exc
    if value and header:
        return check_token(value, where)
    return value


@dataclass(frozen=True)
class EntraSettings:
    """A Microsoft Entra ID tenant read through Microsoft Graph v1.0."""

    tenant_id: str
    client_id: str
    app_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    client_certificate_file: Path | None = None
    client_certificate_password_env: str | None = None
    graph_url: str = "https://graph.microsoft.com"
    login_url: str = "https://login.microsoftonline.com"
    transitive_members: bool = False
    assignment_group: str = DEFAULT_ASSIGNMENT_GROUP
    mapping: dict[str, str] = field(default_factory=dict)
    group_mapping: dict[str, str] = field(default_factory=dict)

    kind = "entra"

    @property
    def base_url(self) -> str:
        """Graph's v1.0 root (what the manifest and capabilities record)."""
        return f"{self.graph_url.rstrip('/')}/v1.0"


@dataclass(frozen=True)
class OktaSettings:
    """An Okta org read through the Okta Management API."""

    base_url: str
    token_env: str | None = None
    token_file: Path | None = None
    client_id: str | None = None
    private_key_file: Path | None = None
    key_id: str | None = None
    scopes: tuple[str, ...] = OKTA_SCOPES
    app_id: str | None = None
    assignment_group: str = DEFAULT_ASSIGNMENT_GROUP
    mapping: dict[str, str] = field(default_factory=dict)
    group_mapping: dict[str, str] = field(default_factory=dict)

    kind = "okta"


SourceSettings = EntraSettings | OktaSettings


def parse_source(kind: str, raw: dict[str, Any], where: str) -> SourceSettings:
    """The settings of a ``kind = "entra" | "okta"`` system table (``where`` names it in errors)."""
    if kind not in KIND_KEYS:
        raise ConfigError(f"{where}.kind = {kind!r}: use one of {', '.join(SYSTEM_KINDS)}")
    check_table(raw, KIND_KEYS[kind], where)
    text = _Reader(raw, where)
    if kind == "entra":
        secrets = [
            k for k in ("client_secret_env", "client_secret_file", "client_certificate_file") if k in raw
        ]
        if len(secrets) != 1:
            raise ConfigError(
                f"{where}: give exactly one of client_secret_env, client_secret_file, client_certificate_file"
            )
        return EntraSettings(
            tenant_id=text.required("tenant_id"),
            client_id=text.required("client_id"),
            app_id=text.optional("app_id"),
            client_secret_env=text.optional("client_secret_env"),
            client_secret_file=text.path("client_secret_file"),
            client_certificate_file=text.path("client_certificate_file"),
            client_certificate_password_env=text.optional("client_certificate_password_env"),
            graph_url=text.https_url("graph_url", "https://graph.microsoft.com"),
            login_url=text.https_url("login_url", "https://login.microsoftonline.com"),
            transitive_members=text.flag("transitive_members"),
            assignment_group=text.optional("assignment_group") or DEFAULT_ASSIGNMENT_GROUP,
            mapping=text.mapping("mapping"),
            group_mapping=text.mapping("group_mapping"),
        )
    ssws = [k for k in ("token_env", "token_file") if k in raw]
    oauth = "private_key_file" in raw
    if len(ssws) + oauth != 1:
        raise ConfigError(
            f"{where}: give exactly one of token_env, token_file (SSWS) "
            "or private_key_file + client_id (OAuth)"
        )
    if oauth and "client_id" not in raw:
        raise ConfigError(f"{where}.client_id: required with private_key_file")
    scopes = raw.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise ConfigError(f"{where}.scopes: must be a list of strings")
    return OktaSettings(
        base_url=text.required("base_url").rstrip("/"),
        token_env=text.optional("token_env"),
        token_file=text.path("token_file"),
        client_id=text.optional("client_id"),
        private_key_file=text.path("private_key_file"),
        key_id=text.optional("key_id"),
        scopes=tuple(scopes) if scopes else OKTA_SCOPES,
        app_id=text.optional("app_id"),
        assignment_group=text.optional("assignment_group") or DEFAULT_ASSIGNMENT_GROUP,
        mapping=text.mapping("mapping"),
        group_mapping=text.mapping("group_mapping"),
    )


class _Reader:
    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where

    def optional(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{self.where}.{key}: must be a non-empty string")
        return value

    def required(self, key: str) -> str:
        value = self.optional(key)
        if value is None:
            raise ConfigError(f"{self.where}.{key}: required")
        return value

    def path(self, key: str) -> Path | None:
        value = self.optional(key)
        return Path(value).expanduser() if value else None

    def https_url(self, key: str, default: str) -> str:
        value = (self.optional(key) or default).rstrip("/")
        if not value.startswith("https://"):
            raise ConfigError(
                f"{self.where}.{key}: must be an https URL (Microsoft's token library refuses others)"
            )
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}.{key}: must be true or false")
        return value

    def mapping(self, key: str) -> dict[str, str]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(
                f"{self.where}.{key}: must be a table of SCIM attribute = provider attribute (strings)"
            )
        return dict(value)
