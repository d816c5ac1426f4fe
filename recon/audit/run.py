"""``recon audit``: every stage a periodic audit needs, for every configured system and pair.

:func:`plan_audit` checks the whole request before anything runs (stages, pairs, systems, the
webhook variable) and raises :class:`~recon.errors.ConfigError` / :class:`~recon.errors.UsageError`
(exit 2). :func:`run_audit` then holds the data folder's audit lock and runs, in order:

==========  ==============================================================================
discover    live systems (``base_url``) whose capabilities.json is missing, of another URL,
            or older than ``[audit] discover_max_age_hours`` (default 24)
extract     live systems: a full export at the audit cycle; systems in ``[audit] incremental``
            also a delta export, watermark = start of the previous complete full export.
            Systems without ``base_url`` (fed by ``recon import`` / ``recon simulate``) are not
            extracted: their full export of the audit cycle must be on disk.
validate    each system's full export of the cycle
reconcile   each ``[reconcile.A.B]`` pair at the cycle; a pair with a system that failed
            discovery or extraction is *not audited* (reported so, never as clean)
deltas      each system with a complete delta export at the cycle (head = the cycle)
history     drift over all cycles on disk
report      the HTML report
metrics     the metrics textfile (``[metrics] textfile``) and the optional Pushgateway push
notify      one webhook message when a ``[thresholds]`` limit is exceeded
==========  ==============================================================================

Each stage runs in-process through the same domain function as its command. A stage that fails
for one system or pair is recorded (status ``failed``) and the others go on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon.audit.lock import AuditLock, Holder
from recon.audit.thresholds import Breach
from recon.config import Config
from recon.errors import ConfigError, DataNotFound, UsageError
from recon.store import Store, atomic_write_json, check_name, cycle_id_now

if TYPE_CHECKING:
    from recon.reports import HistorySummary

__all__ = ["STAGES", "AuditPlan", "AuditResult", "StageRun", "parse_only", "plan_audit", "run_audit"]

STAGES = ("discover", "extract", "validate", "reconcile", "deltas", "history", "report", "metrics", "notify")
# statuses of a stage run; the last three make the audit exit 1
OK, SKIPPED, EXCEEDED, FAILED, NOT_AUDITED = "ok", "skipped", "exceeded", "failed", "not audited"


@dataclass(frozen=True)
class StageRun:
    """One stage for one subject (a system, a pair ``a -> b``, or the whole data folder)."""

    stage: str
    subject: str
    status: str
    seconds: float
    headline: str

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "subject": self.subject,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "headline": self.headline,
        }


@dataclass(frozen=True)
class AuditPlan:
    """What an audit will do (checked before the lock is taken)."""

    cycle: str
    systems: tuple[str, ...]
    live: frozenset[str]
    pairs: tuple[tuple[str, str], ...]
    stages: tuple[str, ...]


@dataclass(frozen=True)
class AuditResult:
    """What an audit did: every stage run, the breaches, and where its outputs are."""

    plan: AuditPlan
    data_dir: Path
    runs: tuple[StageRun, ...]
    breaches: tuple[Breach, ...]
    pairs: Mapping[tuple[str, str], bool]  # audited?
    report: Path | None
    metrics: Path | None
    record: Path
    seconds: float
    took_over: Holder | None = None
    tracebacks: tuple[str, ...] = ()  # of the failed stages, for --debug (never in audit.json)

    @property
    def failed(self) -> tuple[StageRun, ...]:
        return tuple(r for r in self.runs if r.status in (FAILED, NOT_AUDITED))

    @property
    def not_audited(self) -> tuple[str, ...]:
        return tuple(f"{s} -> {t}" for (s, t), ok in self.pairs.items() if not ok)

    @property
    def exit_code(self) -> int:
        """1 when a stage failed, a pair was not audited or a threshold was exceeded; else 0."""
        return 1 if self.failed or self.breaches else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.plan.cycle,
            "data_dir": str(self.data_dir),
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "systems": list(self.plan.systems),
            "pairs": [{"source": s, "target": t, "audited": ok} for (s, t), ok in sorted(self.pairs.items())],
            "not_audited": list(self.not_audited),
            "stages": [run.to_json() for run in self.runs],
            "breaches": [breach.to_json() for breach in self.breaches],
            "report": str(self.report) if self.report else None,
            "metrics": str(self.metrics) if self.metrics else None,
            "record": str(self.record),
            "took_over_stale_lock": self.took_over.to_json() if self.took_over else None,
        }


def parse_only(value: str | None) -> tuple[str, ...]:
    """``--only discover,extract`` as stage names in run order (all stages when None)."""
    if value is None:
        return STAGES
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in STAGES]
    if unknown or not wanted:
        problem = f"unknown stage {unknown[0]!r}" if unknown else "no stage given"
        raise UsageError(f"--only: {problem} (stages: {', '.join(STAGES)})")
    return tuple(stage for stage in STAGES if stage in wanted)


def plan_audit(
    store: Store, config: Config, *, cycle: str | None = None, stages: Sequence[str] = STAGES
) -> AuditPlan:
    """Check the request against recon.toml and the data folder; choose the cycle id."""
    where = str(config.path or "recon.toml")
    on_disk = set(store.systems())
    for source, target in config.reconcile:
        for name in (source, target):
            if name not in config.systems and name not in on_disk:
                known = ", ".join(sorted(set(config.systems) | on_disk)) or "none"
                raise ConfigError(
                    f"{where}: [reconcile.{source}.{target}] names system {name!r}, which is neither in "
                    f"[systems] nor in the data folder {store.root} (known: {known})"
                )
    systems = tuple(dict.fromkeys([*config.systems, *(n for pair in config.reconcile for n in pair)]))
    if not systems:
        raise UsageError(f"nothing to audit: {where} configures no [systems] and no [reconcile.A.B] pairs")
    live = frozenset(name for name in systems if name in config.systems and is_live(config, name))
    for name in config.audit.incremental:
        if name not in live:
            raise ConfigError(
                f"{where}: audit.incremental names {name!r}, which is not a live system "
                "(a [systems] entry with base_url, or of kind entra or okta)"
            )
    if "notify" in stages:
        config.notify.webhook_url()  # a missing variable is a config error now, not after the audit
    if cycle is not None:
        check_name(cycle, "cycle id")
    elif "extract" in stages and live:
        cycle = cycle_id_now()
    else:
        cycle = _latest_common_cycle(store, systems) or cycle_id_now()
    return AuditPlan(cycle, systems, live, tuple(config.reconcile), tuple(stages))


def is_live(config: Config, system: str) -> bool:
    """A system recon reads over the network (discovered and extracted by the audit); the others are
    fed by ``recon import`` / ``recon simulate``: a SCIM system with a ``base_url``, and every
    Entra ID or Okta system (``kind = "entra"`` / ``"okta"``, read through their own APIs)."""
    settings = config.systems[system]
    return settings.kind != "scim" or bool(settings.base_url)


def _latest_common_cycle(store: Store, systems: Sequence[str]) -> str | None:
    common: set[str] | None = None
    for name in systems:
        cycles = set(store.cycles(name, "full"))
        common = cycles if common is None else common & cycles
    return max(common) if common else None


@dataclass
class _Audit:
    store: Store
    config: Config
    plan: AuditPlan
    on_run: Callable[[StageRun], None] | None
    runs: list[StageRun] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    failed_systems: set[str] = field(default_factory=set)
    failed_exports: set[tuple[str, str]] = field(default_factory=set)
    tracebacks: list[str] = field(default_factory=list)

    def record(self, stage: str, subject: str, status: str, seconds: float, headline: str) -> None:
        run = StageRun(stage, subject, status, seconds, headline)
        self.runs.append(run)
        if self.on_run is not None:
            self.on_run(run)

    def step(self, stage: str, subject: str, work: Callable[[], tuple[str, str]]) -> bool:
        """Run ``work`` (-> status, headline); an exception is this subject's failure, not the audit's."""
        started = time.perf_counter()
        try:
            status, headline = work()
        except Exception as exc:  # one system's failure must not stop the others
            status, headline = FAILED, _one_line(exc)
            self.tracebacks.append(f"{stage} {subject}:\n{traceback.format_exc()}")
        self.record(stage, subject, status, time.perf_counter() - started, headline)
        return status not in (FAILED, NOT_AUDITED)


def run_audit(
    store: Store,
    config: Config,
    plan: AuditPlan,
    *,
    on_run: Callable[[StageRun], None] | None = None,
) -> AuditResult:
    """Run the plan under the data folder's audit lock (raises LockHeld when another audit runs)."""
    started = time.perf_counter()
    store.root.mkdir(parents=True, exist_ok=True)
    with AuditLock(store.audit_lock_path, plan.cycle) as lock:
        audit = _Audit(store, config, plan, on_run)
        stages = set(plan.stages)
        if "discover" in stages:
            for system in plan.systems:
                _discover(audit, system)
        if "extract" in stages:
            for system in plan.systems:
                _extract(audit, system)
        if "validate" in stages:
            for system in plan.systems:
                _validate(audit, system)
        pairs: dict[tuple[str, str], bool] = {}  # audited? (only known when reconcile runs)
        if "reconcile" in stages:
            for source, target in plan.pairs:
                pairs[(source, target)] = _reconcile(audit, source, target)
        if "deltas" in stages:
            for system in plan.systems:
                _deltas(audit, system)
        summary = _history(audit) if stages & {"history", "report", "metrics"} else None
        report = _report(audit, summary) if "report" in stages else None
        record = store.audit_dir(plan.cycle) / "audit.json"
        metrics = _metrics(audit, summary, pairs) if "metrics" in stages else None
        if "notify" in stages:
            _notify(audit, report, pairs)
        result = AuditResult(
            plan=plan,
            data_dir=store.root,
            runs=tuple(audit.runs),
            breaches=tuple(audit.breaches),
            pairs=pairs,
            report=report,
            metrics=metrics,
            record=record,
            seconds=time.perf_counter() - started,
            took_over=lock.took_over,
            tracebacks=tuple(audit.tracebacks),
        )
        atomic_write_json(record, result.to_json())
    return result


# -- stages ------------------------------------------------------------------------------------


def _discover(audit: _Audit, system: str) -> None:
    if system not in audit.plan.live:
        audit.record("discover", system, SKIPPED, 0.0, "not a live system (no base_url)")
        return

    def work() -> tuple[str, str]:
        from recon.capabilities import load_capabilities
        from recon.extract.live import discover_and_save
        from recon.scim.client import ScimClient, redact_url

        settings = audit.config.system(system)
        known = load_capabilities(audit.store, system)
        age = _age_hours(known.discovered_at if known else None)
        max_age = audit.config.audit.discover_max_age_hours
        same_url = known is not None and known.base_url == redact_url(settings.base_url or "")
        if same_url and age is not None and age <= max_age:
            return SKIPPED, f"fresh: discovered {age:.1f} h ago (limit {max_age:g} h)"
        if settings.kind != "scim":  # Entra ID / Okta: sign in and read a page of each
            from recon.sources.extract import discover_source

            found = discover_source(audit.store, settings)
            readable = [name for name, value in found.checks.items() if name.endswith("_readable") and value]
            return OK, f"{found.kind}: {', '.join(readable) or 'nothing readable'}"
        with ScimClient.from_config(settings) as client:
            capabilities = discover_and_save(audit.store, client, system)
        advertised = capabilities.advertised
        paging = advertised.get("pagination") or {}
        methods = [m for m in ("cursor", "index") if paging.get(m)] or ["index (assumed)"]
        filtering = "yes" if (advertised.get("filter") or {}).get("supported") else "no"
        return OK, f"paging {', '.join(methods)}; filter {filtering}"

    if not audit.step("discover", system, work):
        audit.failed_systems.add(system)


def _extract(audit: _Audit, system: str) -> None:
    cycle = audit.plan.cycle
    if system in audit.failed_systems:
        audit.record("extract", system, NOT_AUDITED, 0.0, "not extracted: discovery failed")
        audit.failed_exports.add((system, "full"))
        return
    if system not in audit.plan.live:

        def on_disk() -> tuple[str, str]:
            try:
                ref = audit.store.complete_export(system, cycle, "full")
            except DataNotFound as exc:
                return FAILED, f"not a live system and {exc} (recon import ... --cycle {cycle})"
            rows = ref.manifest().rows
            return (
                SKIPPED,
                f"not a live system: uses its export of cycle {cycle} ({rows.get('users', 0):,} users)",
            )

        if not audit.step("extract", system, on_disk):
            audit.failed_systems.add(system)
        return

    def full() -> tuple[str, str]:
        from recon.sources.system import ExtractRequest, extract_system

        result = extract_system(audit.store, audit.config, ExtractRequest(system=system, cycle=cycle))
        return _extract_outcome(result)

    if not audit.step("extract", system, full):
        audit.failed_systems.add(system)
        audit.failed_exports.add((system, "full"))
        return
    if system not in audit.config.audit.incremental:
        return

    def delta() -> tuple[str, str]:
        from recon.sources.system import ExtractRequest, extract_system

        earlier = [c for c in audit.store.cycles(system, "full") if c < cycle]
        if not earlier:
            return SKIPPED, "no earlier complete full export to take a delta from (first audit)"
        base = audit.store.export(system, earlier[-1], "full").manifest()
        if audit.config.system(system).kind == "entra":  # Graph delta: the links of the base cycle
            request = ExtractRequest(system=system, cycle=cycle, since=base.cycle)
            status, headline = _extract_outcome(extract_system(audit.store, audit.config, request))
            return status, f"{headline}; Graph delta links of cycle {base.cycle}"
        if not base.started:
            return FAILED, f"the full export of cycle {base.cycle} records no start time to use as watermark"
        request = ExtractRequest(system=system, cycle=cycle, since=base.started)
        status, headline = _extract_outcome(extract_system(audit.store, audit.config, request))
        return status, f"{headline}; since {base.started} (start of cycle {base.cycle})"

    if not audit.step("extract", f"{system} (delta)", delta):
        audit.failed_exports.add((system, "delta"))


def _extract_outcome(result: Any) -> tuple[str, str]:
    manifest = result.manifest
    rows = manifest.rows
    headline = (
        f"{manifest.kind}, {manifest.status}: {rows.get('users', 0):,} users, {rows.get('groups', 0):,} "
        f"groups, {rows.get('memberships', 0):,} memberships in {manifest.pages} pages"
    )
    if not result.complete:
        reasons = sorted({a["kind"] for a in manifest.anomalies if a.get("affects_completeness")})
        return FAILED, f"{headline} (records may be missing: {', '.join(reasons) or 'see manifest'})"
    return OK, headline


def _validate(audit: _Audit, system: str) -> None:
    if system in audit.failed_systems:
        audit.record("validate", system, NOT_AUDITED, 0.0, "not validated: no export of this cycle")
        return

    def work() -> tuple[str, str]:
        from recon.validate import validate_export

        summary = validate_export(audit.store, system, audit.plan.cycle, audit.config)
        for t in summary.exceeded:
            audit.breaches.append(Breach(t.kind, t.count, t.limit, summary.cycle, system=system))
        resources = sum(summary.resources.values())
        headline = f"{summary.total:,} schema findings in {resources:,} resources"
        return (EXCEEDED if summary.exceeded else OK), headline + _exceeded(summary.exceeded)

    audit.step("validate", system, work)


def _reconcile(audit: _Audit, source: str, target: str) -> bool:
    subject = f"{source} -> {target}"
    missing = [name for name in (source, target) if name in audit.failed_systems]
    if missing:
        audit.record(
            "reconcile",
            subject,
            NOT_AUDITED,
            0.0,
            f"not audited: {' and '.join(missing)} has no export of cycle {audit.plan.cycle}",
        )
        return False

    def work() -> tuple[str, str]:
        from recon.reconcile.run import SEVERITIES, reconcile

        summary = reconcile(audit.store, source, target, audit.plan.cycle, audit.config)
        for t in summary.exceeded:
            audit.breaches.append(
                Breach(t.kind, t.count, t.limit, summary.cycle, source=source, target=target)
            )
        severities = " · ".join(f"{s} {summary.by_severity.get(s, 0):,}" for s in SEVERITIES)
        headline = f"{summary.total:,} findings ({severities})"
        return (EXCEEDED if summary.exceeded else OK), headline + _exceeded(summary.exceeded)

    return audit.step("reconcile", subject, work)


def _deltas(audit: _Audit, system: str) -> None:
    cycle = audit.plan.cycle
    if system in audit.failed_systems or (system, "delta") in audit.failed_exports:
        if system in audit.config.audit.incremental:
            audit.record("deltas", system, NOT_AUDITED, 0.0, f"not checked: no delta export of cycle {cycle}")
        return
    ref = audit.store.export(system, cycle, "delta")
    if not ref.manifest_path.is_file():
        return  # nothing to check: the system takes no delta exports

    def work() -> tuple[str, str]:
        from recon.deltas.run import KINDS, deltas

        summary = deltas(audit.store, system, head=cycle)
        exceeded = []
        for kind, limit in sorted(audit.config.thresholds.items()):
            if kind in KINDS and summary.counts.get(kind, 0) > limit:
                breach = Breach(kind, summary.counts[kind], limit, cycle, system=system)
                audit.breaches.append(breach)
                exceeded.append(breach)
        misses = summary.counts.get("missed_change", 0) + summary.counts.get("missed_creation", 0)
        headline = (
            f"completeness {summary.completeness:.1%} against base {summary.base} "
            f"({misses:,} missed changes and creations)"
        )
        if exceeded:
            headline += "; exceeded: " + ", ".join(f"{b.kind} {b.count} > {b.limit}" for b in exceeded)
        return (EXCEEDED if exceeded else OK), headline

    audit.step("deltas", system, work)


def _history(audit: _Audit) -> HistorySummary | None:
    found: list[HistorySummary] = []

    def work() -> tuple[str, str]:
        from recon.reports import history

        try:
            summary = history(audit.store)
        except DataNotFound:
            return SKIPPED, "no findings on disk yet"
        found.append(summary)
        still = int(summary.latency["still_open"].sum()) if not summary.latency.is_empty() else 0
        return OK, f"{len(summary.pairs)} pairs over all cycles on disk; {still} leavers still active"

    if "history" in audit.plan.stages:
        audit.step("history", "", work)
    else:  # report or metrics alone still need it, quietly
        try:
            work()
        except Exception:  # reported by the stage that needs the history
            return None
    return found[0] if found else None


def _report(audit: _Audit, summary: HistorySummary | None) -> Path | None:
    written: list[Path] = []

    def work() -> tuple[str, str]:
        if summary is None:
            return SKIPPED, "no findings on disk yet"
        from recon.reports import write_report

        written.append(write_report(audit.store, None, summary=summary))
        return OK, str(written[0])

    audit.step("report", "", work)
    return written[0] if written else None


def _metrics(
    audit: _Audit, summary: HistorySummary | None, pairs: Mapping[tuple[str, str], bool]
) -> Path | None:
    from recon.audit.metrics import AuditOutcome, collect, push, write_textfile

    settings = audit.config.metrics
    path = settings.textfile or audit.store.metrics_path
    seconds: dict[str, float] = {}
    failures: dict[str, int] = {}
    for run in audit.runs:
        seconds[run.stage] = seconds.get(run.stage, 0.0) + run.seconds
        failures[run.stage] = failures.get(run.stage, 0) + (run.status in (FAILED, NOT_AUDITED))
    outcome = AuditOutcome(
        finished=datetime.now(UTC),
        pairs=pairs,
        stage_seconds=seconds,
        stage_failures=failures,
        failed_exports=frozenset(audit.failed_exports),
        systems=audit.plan.systems,
    )
    families = collect(
        audit.store,
        summary,
        thresholds=audit.config.thresholds,
        breaches=audit.breaches,
        audit=outcome,
    )
    samples = sum(len(f.samples) for f in families)

    def written() -> tuple[str, str]:
        write_textfile(path, families, settings.format)
        return OK, f"{samples:,} samples of {len(families)} metrics -> {path}"

    ok = audit.step("metrics", "textfile", written)
    if settings.push_url:
        url = settings.push_url

        def pushed() -> tuple[str, str]:
            push(url, settings.job, families, timeout=settings.timeout)
            return OK, f"pushed to the Pushgateway as job {settings.job}"

        audit.step("metrics", "pushgateway", pushed)
    return path if ok else None


def _notify(audit: _Audit, report: Path | None, pairs: Mapping[tuple[str, str], bool]) -> None:
    settings = audit.config.notify

    def work() -> tuple[str, str]:
        from recon.audit.notify import message, post

        if not audit.breaches:
            return SKIPPED, "no threshold exceeded"
        if not settings.webhook_url_env:
            return SKIPPED, f"{len(audit.breaches)} breaches; no [notify] webhook_url_env configured"
        url = settings.webhook_url()
        assert url is not None
        not_audited = [f"{s} -> {t}" for (s, t), ok in pairs.items() if not ok]
        text = message(audit.plan.cycle, audit.breaches, report, not_audited)
        status = post(url, text, timeout=settings.timeout, env_name=settings.webhook_url_env)
        where = f"${settings.webhook_url_env}"
        return OK, f"posted {len(audit.breaches)} breaches to the webhook in {where} (HTTP {status})"

    audit.step("notify", "", work)


# -- helpers -----------------------------------------------------------------------------------


def _exceeded(exceeded: Sequence[Any]) -> str:
    if not exceeded:
        return ""
    return "; exceeded: " + ", ".join(f"{t.kind} {t.count} > {t.limit}" for t in exceeded)


def _age_hours(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (datetime.now(UTC) - when).total_seconds() / 3600)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    from recon.errors import ReconError

    return first if isinstance(exc, ReconError) and first else f"{type(exc).__name__}: {first}"
