"""recon.toml: systems, reconcile mappings and thresholds (CONTRACT §2).

Configuration is validated once, when loaded, with errors that name the key. Secrets
never live in this file: a system names ``token_env`` (an environment variable) or
``token_file`` (a file holding the token), and a key that looks like an inline secret
is refused.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon.errors import ConfigError
from recon.sources.settings import SourceSettings, parse_source
from recon.store import check_name

__all__ = [
    "DEFAULT_COMPARE",
    "DEFAULT_GROUP_MATCH",
    "DEFAULT_MATCH",
    "Config",
    "ReconcileConfig",
    "SystemConfig",
    "load_config",
]

DEFAULT_MATCH: tuple[tuple[str, str], ...] = (("id", "externalId"), ("userName", "userName"))
DEFAULT_GROUP_MATCH: tuple[tuple[str, str], ...] = (("id", "externalId"), ("displayName", "displayName"))
DEFAULT_COMPARE: tuple[str, ...] = (
    "userName",
    "active",
    "name.givenName",
    "name.familyName",
    "emails[primary]",
    "title",
    "department",
)
_SECRET_KEYS = {"token", "bearer_token", "password", "secret", "client_secret", "api_key", "apikey"}
_SYSTEM_KEYS = {
    "base_url",
    "token_env",
    "token_file",
    "page_size",
    "role",
    "ca_bundle",
    "rate_limit",
    "timeout",
    "concurrency",
    "max_retries",
    "resources",
    "headers_env",
}


@dataclass(frozen=True)
class SystemConfig:
    """One SCIM system (an IdP or a downstream app)."""

    name: str
    base_url: str | None = None
    token_env: str | None = None
    token_file: Path | None = None
    page_size: int = 200
    role: str | None = None
    ca_bundle: Path | None = None
    rate_limit: float | None = None  # requests per second, client side
    timeout: float = 30.0
    concurrency: int = 1
    max_retries: int = 6
    kind: str = "scim"  # or "entra" / "okta" (CONTRACT §2 "System kinds")
    source: SourceSettings | None = None  # the provider's own keys (recon.sources.settings)

    def token(self) -> str | None:
        """The bearer token from the environment or the token file (never logged)."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                raise ConfigError(
                    f"systems.{self.name}.token_env: environment variable {self.token_env} is not set"
                )
            return value.strip()
        if self.token_file:
            try:
                return self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"systems.{self.name}.token_file: cannot read {self.token_file} ({exc.strerror})"
                ) from exc
        return None


@dataclass(frozen=True)
class ReconcileConfig:
    """How one source/target pair is correlated and compared."""

    source: str
    target: str
    match: tuple[tuple[str, str], ...] = DEFAULT_MATCH
    group_match: tuple[tuple[str, str], ...] = DEFAULT_GROUP_MATCH
    scope_groups: tuple[str, ...] = ()
    compare: tuple[str, ...] = DEFAULT_COMPARE
    privileged_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole of recon.toml (empty when there is no file)."""

    systems: dict[str, SystemConfig] = field(default_factory=dict)
    reconcile: dict[tuple[str, str], ReconcileConfig] = field(default_factory=dict)
    thresholds: dict[str, int] = field(default_factory=dict)
    path: Path | None = None

    def system(self, name: str) -> SystemConfig:
        """The named system; raises :class:`ConfigError` listing the known ones."""
        check_name(name, "system name")
        try:
            return self.systems[name]
        except KeyError:
            known = ", ".join(sorted(self.systems)) or "none"
            where = self.path or "recon.toml"
            raise ConfigError(f"system {name!r} is not in {where} (known: {known})") from None

    def pair(self, source: str, target: str) -> ReconcileConfig:
        """The reconcile settings of ``source`` → ``target`` (defaults when not configured)."""
        return self.reconcile.get((source, target), ReconcileConfig(source, target))


def load_config(path: Path | None) -> Config:
    """Read ``path`` (or ``./recon.toml`` when it exists; else an empty config)."""
    if path is None:
        default = Path("recon.toml")
        if not default.is_file():
            return Config()
        path = default
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed recon.toml."""
    where = str(path or "recon.toml")
    systems = {}
    for name, raw in _table(data, "systems", where).items():
        check_name(name, "system name")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: systems.{name} must be a table")
        secret = sorted(set(raw) & _SECRET_KEYS)
        if secret:
            raise ConfigError(
                f"{where}: systems.{name}.{secret[0]}: secrets do not belong in the config file; "
                "use token_env (an environment variable) or token_file"
            )
        kind = raw.get("kind", "scim")
        if kind != "scim":
            systems[name] = _source_system(name, kind, raw, f"{where}: systems.{name}")
            continue
        unknown = sorted(set(raw) - _SYSTEM_KEYS - {"kind"})
        if unknown:
            raise ConfigError(f"{where}: systems.{name}: unknown key {unknown[0]!r}")
        systems[name] = SystemConfig(
            name=name,
            base_url=_opt(raw, "base_url", str, f"{where}: systems.{name}"),
            token_env=_opt(raw, "token_env", str, f"{where}: systems.{name}"),
            token_file=_path(raw.get("token_file")),
            page_size=_opt(raw, "page_size", int, f"{where}: systems.{name}") or 200,
            role=_opt(raw, "role", str, f"{where}: systems.{name}"),
            ca_bundle=_path(raw.get("ca_bundle")),
            rate_limit=_opt(raw, "rate_limit", (int, float), f"{where}: systems.{name}"),
            timeout=float(_opt(raw, "timeout", (int, float), f"{where}: systems.{name}") or 30.0),
            concurrency=_opt(raw, "concurrency", int, f"{where}: systems.{name}") or 1,
            max_retries=_opt(raw, "max_retries", int, f"{where}: systems.{name}") or 6,
        )
    reconcile = {}
    for source, targets in _table(data, "reconcile", where).items():
        if not isinstance(targets, dict):
            raise ConfigError(f"{where}: reconcile.{source} must be a table of targets")
        for target, raw in targets.items():
            check_name(source, "system name")
            check_name(target, "system name")
            key = f"{where}: reconcile.{source}.{target}"
            reconcile[(source, target)] = ReconcileConfig(
                source=source,
                target=target,
                match=_pairs(raw.get("match"), key + ".match") or DEFAULT_MATCH,
                group_match=_pairs(raw.get("group_match"), key + ".group_match") or DEFAULT_GROUP_MATCH,
                scope_groups=_strings(raw.get("scope_groups"), key + ".scope_groups"),
                compare=_strings(raw.get("compare"), key + ".compare") or DEFAULT_COMPARE,
                privileged_groups=_strings(raw.get("privileged_groups"), key + ".privileged_groups"),
            )
    thresholds = {}
    for kind, limit in _table(data, "thresholds", where).items():
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ConfigError(f"{where}: thresholds.{kind} must be a whole number >= 0")
        thresholds[kind] = limit
    return Config(systems, reconcile, thresholds, path)


def _source_system(name: str, kind: Any, raw: dict[str, Any], where: str) -> SystemConfig:
    """A system of a provider kind: its own keys parsed by :mod:`recon.sources.settings`."""
    source = parse_source(str(kind), raw, where)
    return SystemConfig(
        name=name,
        base_url=source.base_url,
        page_size=_opt(raw, "page_size", int, where) or (999 if source.kind == "entra" else 200),
        role=_opt(raw, "role", str, where),
        ca_bundle=_path(raw.get("ca_bundle")),
        rate_limit=_opt(raw, "rate_limit", (int, float), where),
        timeout=float(_opt(raw, "timeout", (int, float), where) or 30.0),
        max_retries=_opt(raw, "max_retries", int, where) or 6,
        kind=source.kind,
        source=source,
    )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _opt(raw: dict[str, Any], key: str, kind: Any, where: str) -> Any:
    value = raw.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ConfigError(f"{where}.{key}: wrong type {type(value).__name__}")
    return value


def _path(value: Any) -> Path | None:
    return Path(value).expanduser() if isinstance(value, str) and value else None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings")
    return tuple(value)


def _pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v) for v in value
    ):
        raise ConfigError(f"{where}: must be a list of [source_attribute, target_attribute] pairs")
    return tuple((v[0], v[1]) for v in value)
