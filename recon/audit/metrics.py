"""Drift as metrics: the figures of the findings on disk, for Prometheus (see docs/metrics.md).

:data:`METRICS` is the one list of metric names, types, labels and meanings (docs/metrics.md lists
the same; a test keeps them equal). :func:`collect` turns the store (through :mod:`recon.reports.history`
and the export manifests) and, from ``recon audit``, the run's outcome into metric families of
``prometheus_client``; :func:`render` writes them in the Prometheus text format (what
node_exporter's textfile collector reads) or OpenMetrics; :func:`write_textfile` publishes the file
atomically and :func:`push` sends the same to a Pushgateway.

Labels carry only bounded values: system names (``[A-Za-z0-9_.-]{1,64}``, from recon.toml or the
data folder), finding kinds and severities from fixed lists (anything else becomes ``other``),
audit stage names and export statuses. Never a user name, an id or a cycle id: the cycle of a
figure is a value (``*_timestamp_seconds``), so series do not churn every cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from recon.audit.thresholds import Breach
from recon.errors import ReconError
from recon.store import Store, atomic_write_bytes

if TYPE_CHECKING:
    from recon.reports import HistorySummary

__all__ = ["METRICS", "AuditOutcome", "MetricSpec", "collect", "push", "render", "write_textfile"]


@dataclass(frozen=True)
class MetricSpec:
    """A metric: its name, label names and meaning (all gauges: each is a state at a cycle)."""

    name: str
    labels: tuple[str, ...]
    help: str


_PAIR = ("source", "target")
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "recon_findings",
        (*_PAIR, "kind", "severity"),
        "Findings of the pair's latest findings cycle, by kind and severity (0 for kinds not found).",
    ),
    MetricSpec(
        "recon_findings_cycle_timestamp_seconds",
        _PAIR,
        "Time of the pair's latest findings cycle (from its cycle id), Unix seconds.",
    ),
    MetricSpec(
        "recon_pair_audited",
        _PAIR,
        "recon audit only (when it runs reconcile): 1 when this audit reconciled the pair, 0 when it "
        "could not (not audited: its findings metrics are those of an earlier cycle, never clean).",
    ),
    MetricSpec(
        "recon_leavers_still_active",
        _PAIR,
        "Source leavers (active=false) whose target account still has access at the latest cycle.",
    ),
    MetricSpec(
        "recon_leaver_oldest_active_seconds",
        _PAIR,
        "How long the oldest leaver still active has kept access: from the cycle it left in to the "
        "latest cycle (0 when none).",
    ),
    MetricSpec(
        "recon_leaver_oldest_active_cycles",
        _PAIR,
        "The same age in sync cycles (0 when none).",
    ),
    MetricSpec(
        "recon_deprovisioning_resolved_leavers",
        _PAIR,
        "Leavers whose target access ended (the population of the latency percentiles).",
    ),
    MetricSpec(
        "recon_deprovisioning_latency_p50_seconds",
        _PAIR,
        "Deprovisioning latency, nearest-rank median over resolved leavers (absent when none).",
    ),
    MetricSpec(
        "recon_deprovisioning_latency_p95_seconds",
        _PAIR,
        "Deprovisioning latency, nearest-rank 95th percentile over resolved leavers (absent when none).",
    ),
    MetricSpec(
        "recon_delta_completeness_ratio",
        ("system",),
        "Delta completeness of the system's latest checked delta export: returned and changed / "
        "changed (1 = every change and creation returned).",
    ),
    MetricSpec(
        "recon_delta_findings",
        ("system", "kind"),
        "Delta findings of the system's latest checked delta export, by kind.",
    ),
    MetricSpec(
        "recon_delta_head_timestamp_seconds",
        ("system",),
        "Time of that delta export's head cycle, Unix seconds.",
    ),
    MetricSpec(
        "recon_filter_probes",
        ("system", "status"),
        "Filter probes of the system's latest recon probe, by status (exact, missing, extra, ...).",
    ),
    MetricSpec(
        "recon_filter_probe_deviations",
        ("system",),
        "Filter probes whose server answer differs from local evaluation (any status but exact).",
    ),
    MetricSpec(
        "recon_export_status",
        ("system", "kind", "status"),
        "The system's latest export of kind full or delta: 1 for its status (complete, partial, "
        "failed), 0 for the others. failed: recon audit could not extract it this run.",
    ),
    MetricSpec(
        "recon_export_duration_seconds",
        ("system", "kind"),
        "How long that export took (manifest finished - started).",
    ),
    MetricSpec(
        "recon_export_timestamp_seconds",
        ("system", "kind"),
        "When that export finished, Unix seconds.",
    ),
    MetricSpec(
        "recon_export_resources",
        ("system", "kind", "resource"),
        "Rows in that export by table (users, groups, memberships).",
    ),
    MetricSpec(
        "recon_threshold_limit",
        ("kind",),
        "The [thresholds] limit configured for a finding kind.",
    ),
    MetricSpec(
        "recon_threshold_exceeded",
        ("source", "target", "system", "kind"),
        "1 for each limit exceeded (pair kinds carry source/target, delta and schema kinds system).",
    ),
    MetricSpec(
        "recon_threshold_excess",
        ("source", "target", "system", "kind"),
        "Findings above the limit (count - limit) for each exceeded limit.",
    ),
    MetricSpec(
        "recon_audit_stage_duration_seconds",
        ("stage",),
        "recon audit only: time spent in each stage of the last audit.",
    ),
    MetricSpec(
        "recon_audit_stage_failures",
        ("stage",),
        "recon audit only: runs of each stage that failed in the last audit (0 = all ran).",
    ),
    MetricSpec(
        "recon_audit_pairs_not_audited",
        (),
        "recon audit only: configured pairs the last audit could not reconcile.",
    ),
    MetricSpec(
        "recon_audit_last_run_timestamp_seconds",
        (),
        "recon audit only: when the last audit finished, Unix seconds.",
    ),
    MetricSpec(
        "recon_audit_success",
        (),
        "recon audit only: 1 when every stage of the last audit ran (thresholds aside), else 0.",
    ),
)
_SPECS = {spec.name: spec for spec in METRICS}
_EXPORT_STATUSES = ("complete", "partial", "failed")
_PROBE_STATUSES = ("exact", "missing", "extra", "missing_and_extra", "ignored", "rejected", "error")


@dataclass(frozen=True)
class AuditOutcome:
    """What one ``recon audit`` run adds to the metrics."""

    finished: datetime
    pairs: Mapping[tuple[str, str], bool]  # pair -> audited this run
    stage_seconds: Mapping[str, float]
    stage_failures: Mapping[str, int]
    failed_exports: frozenset[tuple[str, str]] = frozenset()  # (system, kind) that failed this run
    systems: tuple[str, ...] = ()


@dataclass
class _Families:
    families: dict[str, GaugeMetricFamily] = field(default_factory=dict)

    def add(self, name: str, labels: Sequence[str], value: float) -> None:
        spec = _SPECS[name]
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = GaugeMetricFamily(name, spec.help, labels=list(spec.labels))
        family.add_metric([str(v) for v in labels], float(value))


class _Snapshot(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def collect(
    store: Store,
    summary: HistorySummary | None,
    *,
    thresholds: Mapping[str, int],
    breaches: Sequence[Breach],
    audit: AuditOutcome | None = None,
) -> list[Metric]:
    """The metric families for ``store`` (``summary`` = its history; None when it has no findings)."""
    from recon.reports.history import DELTA_KINDS, FINDING_KINDS, SEVERITIES, cycle_time

    out = _Families()
    if summary is not None:
        _pair_metrics(out, summary, FINDING_KINDS, SEVERITIES, cycle_time)
        _delta_metrics(out, summary, DELTA_KINDS)
    if audit is not None:
        for (source, target), audited in sorted(audit.pairs.items()):
            out.add("recon_pair_audited", (source, target), 1 if audited else 0)
    systems = sorted(set(store.systems()) | set(audit.systems if audit else ()))
    _export_metrics(out, store, systems, audit.failed_exports if audit else frozenset())
    _probe_metrics(out, store)
    for kind, limit in sorted(thresholds.items()):
        out.add("recon_threshold_limit", (_bounded(kind),), limit)
    for breach in breaches:
        labels = (breach.source, breach.target, breach.system, _bounded(breach.kind))
        out.add("recon_threshold_exceeded", labels, 1)
        out.add("recon_threshold_excess", labels, breach.excess)
    if audit is not None:
        for stage, seconds in audit.stage_seconds.items():
            out.add("recon_audit_stage_duration_seconds", (stage,), round(seconds, 3))
            out.add("recon_audit_stage_failures", (stage,), audit.stage_failures.get(stage, 0))
        out.add("recon_audit_pairs_not_audited", (), sum(1 for ok in audit.pairs.values() if not ok))
        out.add("recon_audit_last_run_timestamp_seconds", (), audit.finished.timestamp())
        out.add("recon_audit_success", (), 0 if any(audit.stage_failures.values()) else 1)
    return [out.families[spec.name] for spec in METRICS if spec.name in out.families]


def _bounded(kind: str) -> str:
    """A finding kind as a label: recon's own kinds are short snake_case names; anything else is other."""
    from recon.reports.history import DELTA_KINDS, FINDING_KINDS

    known = set(FINDING_KINDS) | set(DELTA_KINDS)
    if kind in known or (len(kind) <= 64 and kind.replace("_", "").isalnum() and kind.isascii()):
        return kind
    return "other"


def _pair_metrics(
    out: _Families, summary: HistorySummary, kinds: Sequence[str], severities: Sequence[str], cycle_time: Any
) -> None:
    import polars as pl

    for source, target in summary.pairs:
        latest = summary.latest(source, target)
        rows = summary.counts.filter(
            (pl.col("source") == source) & (pl.col("target") == target) & (pl.col("cycle") == latest["cycle"])
        )
        counts: dict[tuple[str, str], int] = {}
        for row in rows.iter_rows(named=True):
            kind = row["kind"] if row["kind"] in kinds else "other"
            severity = row["severity"] if row["severity"] in severities else "other"
            counts[(kind, severity)] = counts.get((kind, severity), 0) + int(row["findings"])
        for kind in kinds:
            for severity in severities:
                counts.setdefault((kind, severity), 0)
        for (kind, severity), count in sorted(counts.items()):
            out.add("recon_findings", (source, target, kind, severity), count)
        when = cycle_time(latest["cycle"])
        if when is not None:
            out.add("recon_findings_cycle_timestamp_seconds", (source, target), when.timestamp())
        latency = summary.latency_of(source, target)
        out.add("recon_leavers_still_active", (source, target), int(latency["still_open"] or 0))
        out.add(
            "recon_leaver_oldest_active_seconds",
            (source, target),
            round(float(latency["oldest_open_hours"] or 0) * 3600, 3),
        )
        out.add(
            "recon_leaver_oldest_active_cycles", (source, target), int(latency["oldest_open_cycles"] or 0)
        )
        out.add("recon_deprovisioning_resolved_leavers", (source, target), int(latency["resolved"] or 0))
        for quantile in ("p50", "p95"):
            hours = latency[f"{quantile}_hours"]
            if hours is not None:
                out.add(
                    f"recon_deprovisioning_latency_{quantile}_seconds",
                    (source, target),
                    round(float(hours) * 3600, 3),
                )


def _delta_metrics(out: _Families, summary: HistorySummary, kinds: Sequence[str]) -> None:
    if summary.completeness.is_empty():
        return
    latest = summary.completeness.sort("head").group_by("system", maintain_order=True).last()
    for row in latest.sort("system").iter_rows(named=True):
        system = row["system"]
        if row["completeness"] is not None:
            out.add("recon_delta_completeness_ratio", (system,), float(row["completeness"]))
        for kind in kinds:
            out.add("recon_delta_findings", (system, kind), int(row[kind] or 0))
        if row["head_time"] is not None:
            out.add("recon_delta_head_timestamp_seconds", (system,), row["head_time"].timestamp())


def _export_metrics(
    out: _Families, store: Store, systems: Sequence[str], failed: frozenset[tuple[str, str]]
) -> None:
    for system in systems:
        for kind in ("full", "delta"):
            if (system, kind) in failed:
                for status in _EXPORT_STATUSES:
                    out.add("recon_export_status", (system, kind, status), 1 if status == "failed" else 0)
                continue
            refs = store.exports(system, kind)
            if not refs:
                continue
            manifest = refs[-1].manifest()
            for status in _EXPORT_STATUSES:
                out.add("recon_export_status", (system, kind, status), 1 if manifest.status == status else 0)
            started, finished = _time(manifest.started), _time(manifest.finished)
            if started is not None and finished is not None:
                out.add(
                    "recon_export_duration_seconds",
                    (system, kind),
                    round(max(0.0, (finished - started).total_seconds()), 3),
                )
            if finished is not None:
                out.add("recon_export_timestamp_seconds", (system, kind), finished.timestamp())
            for table, rows in sorted(manifest.rows.items()):
                if table in ("users", "groups", "memberships"):
                    out.add("recon_export_resources", (system, kind, table), int(rows))


def _probe_metrics(out: _Families, store: Store) -> None:
    from recon.reports.recorded import probe_results

    probes = probe_results(store)
    for system in sorted(set(probes["system"].to_list())):
        statuses = probes.filter(probes["system"] == system)["status"].to_list()
        for status in _PROBE_STATUSES:
            out.add("recon_filter_probes", (system, status), statuses.count(status))
        other = sum(1 for s in statuses if s not in _PROBE_STATUSES)
        if other:
            out.add("recon_filter_probes", (system, "other"), other)
        out.add("recon_filter_probe_deviations", (system,), sum(1 for s in statuses if s != "exact"))


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _registry(families: Iterable[Metric]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return registry


def render(families: Iterable[Metric], fmt: str = "prometheus") -> bytes:
    """The exposition text: ``prometheus`` (text format 0.0.4) or ``openmetrics`` (ends with # EOF)."""
    registry = _registry(families)
    if fmt == "openmetrics":
        from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

        text: bytes = openmetrics_latest(registry)  # type: ignore[no-untyped-call]
        return text
    from prometheus_client.exposition import generate_latest

    return generate_latest(registry)


def write_textfile(path: Path, families: Iterable[Metric], fmt: str = "prometheus") -> Path:
    """Write the metrics to ``path`` through a temporary file and a rename (a collector never
    reads half a file)."""
    atomic_write_bytes(path, render(families, fmt))
    return path


def push(url: str, job: str, families: Iterable[Metric], *, timeout: float) -> None:
    """PUT the metrics to a Pushgateway under ``job`` (replacing that group); one attempt.

    Raises :class:`ReconError` with the gateway's host only (a URL may carry a path token).
    """
    from urllib.error import URLError
    from urllib.parse import urlsplit

    from prometheus_client.exposition import push_to_gateway

    try:
        push_to_gateway(url, job=job, registry=_registry(families), timeout=timeout)
    except (URLError, OSError, ValueError) as exc:
        host = urlsplit(url).hostname or "?"
        reason = getattr(exc, "code", None) or type(exc).__name__
        raise ReconError(f"pushing metrics to the Pushgateway at {host} failed ({reason})") from None
