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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon.errors import ConfigError, UsageError
from recon.safe_text import check_token
from recon.store import check_name

if TYPE_CHECKING:
    from recon.config.providers import SourceSettings

__all__ = [
    "DEFAULT_COMPARE",
    "DEFAULT_GROUP_MATCH",
    "DEFAULT_MATCH",
    "ENGINES",
    "AuditConfig",
    "Config",
    "EngineConfig",
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


@dataclass(frozen=True)
class Key:
    """What one key of a recon.toml table may hold: its types, and a range or choices.

    Every table is checked against a dict of these (:func:`check_table`): an unknown key, a
    wrong type or a value out of range is a :class:`ConfigError` naming the key, never ignored.
    To add a key, add it to the table's dict (e.g. :data:`SYSTEM_KEYS`).
    """

    types: tuple[type, ...]
    low: float | None = None  # inclusive
    high: float | None = None  # inclusive
    above: float | None = None  # exclusive lower bound
    choices: tuple[str, ...] | None = None
    items: type | None = None  # for a list: the type of every item


_TEXT = Key((str,))
# what a system is read through (CONTRACT §2 "System kinds"); the keys of entra and okta are in
# recon.config.providers (KIND_KEYS)
SYSTEM_KINDS = ("scim", "entra", "okta")
SYSTEM_KEYS: dict[str, Key] = {
    "kind": Key((str,), choices=SYSTEM_KINDS),
    "base_url": _TEXT,
    "token_env": _TEXT,
    "token_file": _TEXT,
    "page_size": Key((int,), low=1, high=100_000),
    "role": _TEXT,
    "ca_bundle": _TEXT,
    "rate_limit": Key((int, float), above=0, high=100_000),  # requests per second
    "timeout": Key((int, float), above=0, high=3_600),  # seconds
    "concurrency": Key((int,), low=1, high=32),
    "max_retries": Key((int,), low=0, high=20),
    "resources": Key((list,), items=str),
    "headers_env": _TEXT,
}
RECONCILE_KEYS: dict[str, Key] = {
    "match": Key((list,), items=list),
    "group_match": Key((list,), items=list),
    "scope_groups": Key((list,), items=str),
    "compare": Key((list,), items=str),
    "privileged_groups": Key((list,), items=str),
}
# every top-level table of recon.toml (CONTRACT §2); the tables other modules read check their own keys
TOP_LEVEL_TABLES = {"systems", "reconcile", "thresholds", "engine", "audit", "metrics", "notify"}


# The modules owning the finding kinds a [thresholds] key may name ("module:attribute"): loaded only
# when [thresholds] is given (they import the engines). A stage with findings of its own adds a line.
def threshold_kinds() -> tuple[str, ...]:
    """Every finding kind a ``[thresholds]`` key may name: those of reconcile, deltas and validate."""
    from recon.findings import DELTA_KINDS, EXPORT_KINDS, FINDING_KINDS, MAPPING_KINDS

    return tuple(dict.fromkeys((*FINDING_KINDS, *DELTA_KINDS, *EXPORT_KINDS, *MAPPING_KINDS)))


def check_table(raw: Any, spec: dict[str, Key], where: str) -> dict[str, Any]:
    """``raw`` if it is a table whose every key is in ``spec`` with a value it allows."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table, not a {_type_name(raw)}")
    for key, value in raw.items():
        rule = spec.get(key)
        if rule is None:
            raise ConfigError(f"{where}: unknown key {key!r}{_did_you_mean(key, spec)}")
        check_value(value, rule, f"{where}.{key}")
    return raw


def check_value(value: Any, rule: Key, where: str) -> None:
    """Raise :class:`ConfigError` unless ``value`` has a type, range and items ``rule`` allows."""
    if (isinstance(value, bool) and bool not in rule.types) or not isinstance(value, rule.types):
        raise ConfigError(f"{where} must be {_wanted(rule.types)}, not {_type_name(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool) and not _in_range(value, rule):
        bounds = [
            f"> {rule.above:g}" if rule.above is not None else "",
            f">= {rule.low:g}" if rule.low is not None else "",
            f"<= {rule.high:g}" if rule.high is not None else "",
        ]
        wanted = " and ".join(b for b in bounds if b)
        raise ConfigError(f"{where} must be {_wanted(rule.types)} {wanted}, not {value!r}")
    if rule.choices is not None and value not in rule.choices:
        raise ConfigError(f"{where} = {value!r}: use one of {', '.join(rule.choices)}")
    if rule.items is not None and isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, rule.items):
                raise ConfigError(
                    f"{where}[{index}] must be {_TYPE_NAMES.get(rule.items, rule.items.__name__)}, "
                    f"not {_type_name(item)}"
                )


def _wanted(types: tuple[type, ...]) -> str:
    if set(types) == {int, float}:
        return "a number"
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def _in_range(value: float, rule: Key) -> bool:
    return not (
        value != value  # NaN
        or (rule.low is not None and value < rule.low)
        or (rule.high is not None and value > rule.high)
        or (rule.above is not None and value <= rule.above)
    )


_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    list: "a list",
    dict: "a table",
    bool: "true or false",
}


def _type_name(value: Any) -> str:
    return {
        str: "string",
        int: "whole number",
        float: "number",
        list: "list",
        dict: "table",
        bool: "boolean",
    }.get(type(value), type(value).__name__)


def _did_you_mean(key: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(known))})"


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
    source: SourceSettings | None = None  # the provider's own keys (recon.config.providers)

    def token(self) -> str | None:
        """The bearer token from the environment or the token file (never logged)."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                raise ConfigError(
                    f"systems.{self.name}.token_env: environment variable {self.token_env} is not set"
                )
            return check_token(value.strip(), f"systems.{self.name}.token_env ({self.token_env})")
        if self.token_file:
            try:
                text = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"systems.{self.name}.token_file: cannot read {self.token_file} ({exc.strerror})"
                ) from exc
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"systems.{self.name}.token_file: {self.token_file} is not UTF-8 text"
                ) from exc
            return check_token(text, f"systems.{self.name}.token_file ({self.token_file})")
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


ENGINES = ("duckdb", "spark")
_ENGINE_KEYS = {"name", "master", "remote", "conf"}


@dataclass(frozen=True)
class EngineConfig:
    """``[engine]``: which engine runs reconcile, deltas and history (CONTRACT §2).

    ``master`` (a Spark master URL such as ``local[4]``, ``spark://host:7077``, ``yarn``) and
    ``remote`` (Spark Connect, ``sc://host:15002``) exclude each other; ``conf`` pairs are
    passed to Spark as they are. DuckDB ignores all three.
    """

    name: str = "duckdb"
    master: str | None = None
    remote: str | None = None
    conf: dict[str, str] = field(default_factory=dict)

    def named(self, name: str | None) -> EngineConfig:
        """These settings with the engine chosen on the command line (``--engine``), if any."""
        if name is None:
            return self
        if name not in ENGINES:
            raise UsageError(f"--engine {name!r}: use one of {', '.join(ENGINES)}")
        return replace(self, name=name)


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
    engine: EngineConfig = field(default_factory=EngineConfig)

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
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a folder, not a config file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed recon.toml."""
    where = str(path or "recon.toml")
    unknown = sorted(set(data) - TOP_LEVEL_TABLES)
    if unknown:
        raise ConfigError(
            f"{where}: unknown table or key {unknown[0]!r}{_did_you_mean(unknown[0], TOP_LEVEL_TABLES)}"
        )
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
        check_value(kind, SYSTEM_KEYS["kind"], f"{where}: systems.{name}.kind")
        if kind != "scim":
            systems[name] = _source_system(name, kind, raw, f"{where}: systems.{name}")
            continue
        check_table(raw, SYSTEM_KEYS, f"{where}: systems.{name}")
        systems[name] = SystemConfig(
            name=name,
            base_url=raw.get("base_url"),
            token_env=raw.get("token_env"),
            token_file=_path(raw.get("token_file")),
            page_size=raw.get("page_size", 200),
            role=raw.get("role"),
            ca_bundle=_path(raw.get("ca_bundle")),
            rate_limit=raw.get("rate_limit"),
            timeout=float(raw.get("timeout", 30.0)),
            concurrency=raw.get("concurrency", 1),
            max_retries=raw.get("max_retries", 6),
        )
    reconcile = {}
    for source, targets in _table(data, "reconcile", where).items():
        if not isinstance(targets, dict):
            raise ConfigError(f"{where}: reconcile.{source} must be a table of targets")
        for target, raw in targets.items():
            check_name(source, "system name")
            check_name(target, "system name")
            key = f"{where}: reconcile.{source}.{target}"
            if not isinstance(raw, dict):
                raise ConfigError(f"{key} must be a table ([reconcile.{source}.{target}])")
            check_table(raw, RECONCILE_KEYS, key)
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
    table = _table(data, "thresholds", where)
    if table:
        kinds = threshold_kinds()
        check_table(table, dict.fromkeys(kinds, Key((int,), low=0)), f"{where}: thresholds")
        thresholds = dict(table)
    audit, metrics, notify = parse_audit_tables(data, where)
    engine = _engine(_table(data, "engine", where), where)
    return Config(systems, reconcile, thresholds, path, audit, metrics, notify, engine)


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


def _engine(raw: dict[str, Any], where: str) -> EngineConfig:
    """``[engine]`` checked: a known name, text master/remote (not both), text conf values."""
    unknown = sorted(set(raw) - _ENGINE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: engine: unknown key {unknown[0]!r} (known: {', '.join(sorted(_ENGINE_KEYS))})"
        )
    name = _opt(raw, "name", str, f"{where}: engine") or "duckdb"
    if name not in ENGINES:
        raise ConfigError(f"{where}: engine.name {name!r}: use one of {', '.join(ENGINES)}")
    master = _opt(raw, "master", str, f"{where}: engine")
    remote = _opt(raw, "remote", str, f"{where}: engine")
    if master and remote:
        raise ConfigError(f"{where}: engine: give master or remote (Spark Connect), not both")
    if remote is not None and not remote.startswith("sc://"):
        raise ConfigError(f"{where}: engine.remote {remote!r}: a Spark Connect URL starts with sc://")
    conf = raw.get("conf", {})
    if not isinstance(conf, dict) or not all(isinstance(v, str | int | float | bool) for v in conf.values()):
        raise ConfigError(f"{where}: engine.conf must be a table of Spark settings (text or numbers)")
    values = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in conf.items()}
    return EngineConfig(name=name, master=master, remote=remote, conf=values)


def _source_system(name: str, kind: str, raw: dict[str, Any], where: str) -> SystemConfig:
    """A system of a provider kind: its keys checked and parsed by :mod:`recon.config.providers`."""
    from recon.config.providers import parse_source

    source = parse_source(kind, raw, where)
    return SystemConfig(
        name=name,
        base_url=source.base_url,
        page_size=raw.get("page_size", 999 if source.kind == "entra" else 200),
        role=raw.get("role"),
        ca_bundle=_path(raw.get("ca_bundle")),
        rate_limit=raw.get("rate_limit"),
        timeout=float(raw.get("timeout", 30.0)),
        max_retries=raw.get("max_retries", 6),
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
