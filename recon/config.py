"""recon.toml: systems, reconcile mappings and thresholds (CONTRACT §2).

Configuration is validated once, when loaded, with errors that name the key. Secrets
never live in this file: a system names ``token_env`` (an environment variable) or
``token_file`` (a file holding the token), and a key that looks like an inline secret
is refused.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon.errors import ConfigError
from recon.store import check_name

__all__ = [
    "DEFAULT_COMPARE",
    "DEFAULT_GROUP_MATCH",
    "DEFAULT_MATCH",
    "AuditConfig",
    "Config",
    "MetricsConfig",
    "NotifyConfig",
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
class AuditConfig:
    """``[audit]``: how ``recon audit`` decides what to run (see docs/commands/audit.md)."""

    discover_max_age_hours: float = 24.0  # capabilities.json older than this is discovered again
    incremental: tuple[str, ...] = ()  # systems that also get a delta export (and its check) per audit


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: where ``recon audit`` writes its metrics (see docs/metrics.md)."""

    textfile: Path | None = None  # default: the store's recon.prom
    push_url: str | None = None  # a Pushgateway, optional
    job: str = "recon"  # the Pushgateway job name
    format: str = "prometheus"  # or "openmetrics" (node_exporter's textfile collector reads prometheus)
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifyConfig:
    """``[notify]``: a webhook told about threshold breaches; its URL is a secret in the environment."""

    webhook_url_env: str | None = None
    timeout: float = 10.0

    def webhook_url(self) -> str | None:
        """The webhook URL from the environment (never printed), or None when not configured."""
        if not self.webhook_url_env:
            return None
        value = os.environ.get(self.webhook_url_env, "").strip()
        if not value:
            raise ConfigError(
                f"notify.webhook_url_env: environment variable {self.webhook_url_env} is not set"
            )
        return value


@dataclass(frozen=True)
class Config:
    """The whole of recon.toml (empty when there is no file)."""

    systems: dict[str, SystemConfig] = field(default_factory=dict)
    reconcile: dict[tuple[str, str], ReconcileConfig] = field(default_factory=dict)
    thresholds: dict[str, int] = field(default_factory=dict)
    path: Path | None = None
    audit: AuditConfig = field(default_factory=AuditConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)

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
        unknown = sorted(set(raw) - _SYSTEM_KEYS)
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
    audit, metrics, notify = parse_audit_tables(data, where)
    return Config(systems, reconcile, thresholds, path, audit, metrics, notify)


# -- [audit], [metrics], [notify] (recon audit) ------------------------------------------------

_AUDIT_KEYS = {"discover_max_age_hours", "incremental"}
_METRICS_KEYS = {"textfile", "push_url", "job", "format", "timeout"}
_NOTIFY_KEYS = {"webhook_url_env", "timeout"}
_NOTIFY_SECRET_KEYS = frozenset({"webhook_url", "url", "webhook"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def parse_audit_tables(data: dict[str, Any], where: str) -> tuple[AuditConfig, MetricsConfig, NotifyConfig]:
    """``[audit]``, ``[metrics]`` and ``[notify]``, each with a strict set of keys.

    A webhook URL written in the file is refused (it is a secret: name the environment variable
    holding it in ``webhook_url_env``); the message never repeats the value.
    """
    raw_audit = _strict(data, "audit", _AUDIT_KEYS, where)
    raw_metrics = _strict(data, "metrics", _METRICS_KEYS, where)
    raw_notify = _strict(data, "notify", _NOTIFY_KEYS, where, secret_keys=_NOTIFY_SECRET_KEYS)
    age = _opt(raw_audit, "discover_max_age_hours", (int, float), f"{where}: audit")
    if age is not None and age < 0:
        raise ConfigError(f"{where}: audit.discover_max_age_hours must be >= 0")
    incremental = _strings(raw_audit.get("incremental"), f"{where}: audit.incremental")
    for name in incremental:
        check_name(name, "system name")
    audit = AuditConfig(
        discover_max_age_hours=float(age) if age is not None else AuditConfig.discover_max_age_hours,
        incremental=incremental,
    )
    fmt = _opt(raw_metrics, "format", str, f"{where}: metrics") or "prometheus"
    if fmt not in ("prometheus", "openmetrics"):
        raise ConfigError(f"{where}: metrics.format must be prometheus or openmetrics, not {fmt!r}")
    push_url = _opt(raw_metrics, "push_url", str, f"{where}: metrics")
    if push_url is not None and not re.match(r"https?://[^/@\s]+(/\S*)?$", push_url):
        raise ConfigError(
            f"{where}: metrics.push_url must be an http(s) URL without credentials in it "
            "(e.g. http://pushgateway:9091)"
        )
    job = _opt(raw_metrics, "job", str, f"{where}: metrics") or "recon"
    check_name(job, "metrics job name")
    metrics = MetricsConfig(
        textfile=_path(_opt(raw_metrics, "textfile", str, f"{where}: metrics")),
        push_url=push_url,
        job=job,
        format=fmt,
        timeout=_timeout(raw_metrics, f"{where}: metrics"),
    )
    env = _opt(raw_notify, "webhook_url_env", str, f"{where}: notify")
    if env is not None and not _ENV_NAME.fullmatch(env):
        looks_like_url = "://" in env or env.lower().startswith(("http", "www."))
        reason = (
            "holds a URL: the webhook URL is a secret and does not belong in the config file; "
            "put it in an environment variable and name that variable here"
            if looks_like_url
            else "must name an environment variable (letters, digits, _)"
        )
        raise ConfigError(f"{where}: notify.webhook_url_env {reason}")
    notify = NotifyConfig(webhook_url_env=env, timeout=_timeout(raw_notify, f"{where}: notify"))
    return audit, metrics, notify


def _strict(
    data: dict[str, Any], key: str, keys: set[str], where: str, *, secret_keys: frozenset[str] = frozenset()
) -> dict[str, Any]:
    raw = _table(data, key, where)
    secret = sorted(set(raw) & secret_keys)
    if secret:
        raise ConfigError(
            f"{where}: {key}.{secret[0]}: the webhook URL is a secret and does not belong in the config "
            "file; put it in an environment variable named by webhook_url_env"
        )
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ConfigError(f"{where}: [{key}]: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")
    return raw


def _timeout(raw: dict[str, Any], where: str) -> float:
    value = _opt(raw, "timeout", (int, float), where)
    if value is None:
        return 10.0
    if not 0 < value <= 300:
        raise ConfigError(f"{where}.timeout must be between 0 and 300 seconds")
    return float(value)


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
