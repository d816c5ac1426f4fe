"""``recon demo``: every stage of recon on a simulated directory, checked against its truth.

The demo simulates an IdP and two downstream apps over several sync cycles (the ``typical``
fault profile), then runs each stage of CONTRACT §1 on the result — validate, a live extract
over HTTP on 127.0.0.1, reconcile per target and cycle, delta correctness per cycle, a
remediation plan (dry run), history and the HTML report — and compares reconcile and deltas
with the simulator's ground truth, so the first thing a user sees is recon being exact. Last,
``recon audit`` runs over the simulated systems as a scheduled job would, and writes the metrics
file a Prometheus textfile collector reads.

Nothing leaves the machine and no config is needed. The demo writes only into an empty
folder or one holding a previous demo (never over real exports).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from recon.config.toml import Config, load_config
from recon.errors import DataNotFound, UsageError
from recon.reports.recorded import has_findings
from recon.schemas import assignment_group_id
from recon.store import Store

__all__ = ["DEMO_MARKER", "DemoResult", "Stage", "demo_data_dir", "run_demo"]

DEMO_MARKER = "demo.json"
SOURCE = "idp"
TARGETS = ("slack", "github")
# Outputs of the stages after simulate; the simulator replaces its own folders itself.
_STAGE_OUTPUTS = ("validation", "plans", "bulk", "report.html", DEMO_MARKER)
_FINDING_KEY = ("kind", "severity", "source_id", "target_id", "group_id", "target_group_id", "attribute")
_DELTA_KEY = ("kind", "resource_type", "id", "name", "base_last_modified", "head_last_modified")


@dataclass(frozen=True)
class Stage:
    """What one stage did: a name, the lines to show, how long it took."""

    name: str
    lines: tuple[str, ...]
    seconds: float
    ok: bool = True


@dataclass(frozen=True)
class DemoResult:
    """Every stage of one demo run, and where the outputs are."""

    data_dir: Path
    stages: tuple[Stage, ...]
    report: Path | None
    seconds: float
    truth_checks: dict[str, tuple[int, int]] = field(default_factory=dict)  # stage -> (equal, runs)

    @property
    def ok(self) -> bool:
        """Every stage ran and every output equalled the simulator's truth."""
        return all(stage.ok for stage in self.stages)


def run_demo(
    data_dir: Path | str,
    *,
    users: int = 5000,
    cycles: int = 8,
    seed: int = 2026,
    profile: str = "typical",
    on_stage: Callable[[Stage], None] | None = None,
    idp: str = "scim",
) -> DemoResult:
    """Run the demo into ``data_dir`` (created when missing) and return what each stage did.

    ``on_stage`` is called as each stage ends (the CLI prints it). Raises
    :class:`~recon.errors.UsageError` when ``data_dir`` holds anything but a previous demo.
    """
    if idp not in ("scim", "okta", "entra"):
        raise UsageError(f"--idp {idp!r}: use scim, okta or entra")
    root = Path(data_dir)
    _prepare(root)
    started = time.perf_counter()
    stages: list[Stage] = []
    checks: dict[str, tuple[int, int]] = {}

    def done(stage: Stage) -> None:
        stages.append(stage)
        if on_stage is not None:
            on_stage(stage)

    done(_simulate(root, users=users, cycles=cycles, seed=seed, profile=profile))
    (root / DEMO_MARKER).write_text(
        f'{{"users": {users}, "cycles": {cycles}, "seed": {seed}, "profile": "{profile}"}}\n',
        encoding="utf-8",
    )
    store = Store(root)
    config = load_config(root / "recon.toml")
    done(_validate(store, config))
    done(_extract(store))
    if idp == "okta":
        done(_extract_okta(store))
    if idp == "entra":
        done(_extract_entra(store))
    stage, checks["reconcile"] = _reconcile(store, config)
    done(stage)
    stage, checks["deltas"] = _deltas(store)
    done(stage)
    done(_plan(store, config))
    stage, report = _report(store)
    done(stage)
    done(_audit(store, config))
    return DemoResult(root, tuple(stages), report, time.perf_counter() - started, checks)


def _prepare(root: Path) -> None:
    """Refuse a folder with anything but a previous demo in it; clear a previous demo's stage outputs."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"--data-dir {root}: is a file, not a folder")
    if not root.is_dir() or not any(root.iterdir()):
        return
    if not (root / DEMO_MARKER).is_file():
        raise UsageError(
            f"--data-dir {root}: not empty and not a previous demo; recon demo writes only into an empty "
            "folder (or one it wrote before), never over real exports"
        )
    store = Store(root)
    for path in [*(root / name for name in _STAGE_OUTPUTS), store.audit_dir("x").parent, store.metrics_path]:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _timed(name: str, work: Callable[[], tuple[list[str], bool]]) -> Stage:
    started = time.perf_counter()
    lines, ok = work()
    return Stage(name, tuple(lines), time.perf_counter() - started, ok)


def _simulate(root: Path, *, users: int, cycles: int, seed: int, profile: str) -> Stage:
    from recon.simulate import simulate

    def work() -> tuple[list[str], bool]:
        sim = simulate(root, users=users, cycles=cycles, seed=seed, profile=profile, force=True)
        injected = sum(sum(kinds.values()) for kinds in sim.faults.values())
        lines = [
            f"{sim.source} -> {', '.join(sim.targets)}: {sim.initial_users:,} users "
            f"({sim.users:,} at the last cycle), {sim.groups} groups, {len(sim.cycles)} cycles, "
            f"profile {sim.profile}, seed {sim.seed}",
            f"faults injected: {injected:,}; equivalence traps (must not become findings): "
            f"{sum(sim.traps.values()):,}; delta quirks: {sum(sim.delta_quirks.values()):,}",
        ]
        return lines, True

    return _timed("simulate", work)


def _validate(store: Store, config: Config) -> Stage:
    from recon.validate import validate_export, validate_mapping

    def work() -> tuple[list[str], bool]:
        lines = []
        for system in (SOURCE, *TARGETS):
            summary = validate_export(store, system, config=config)
            users = summary.resources.get("User", summary.resources.get("Users", 0))
            lines.append(
                f"{system} at {summary.cycle}: {_count(summary.total, 'schema finding')} "
                f"in {sum(summary.resources.values()):,} resources ({users:,} users)"
                + _kinds(summary.by_kind)
            )
        for target in TARGETS:
            mapping = validate_mapping(store, SOURCE, target, config)
            lines.append(
                f"mapping {SOURCE} -> {target}: {len(mapping.attributes)} attributes compared, "
                f"{_count(mapping.total, 'mapping finding')}" + _kinds(mapping.by_kind)
            )
        return lines, True

    return _timed("validate", work)


def _extract(store: Store) -> Stage:
    from recon.simulate.serve import demo_extract

    def work() -> tuple[list[str], bool]:
        result = demo_extract(store, source=SOURCE, into=f"{SOURCE}-live")
        manifest = result.manifest
        served = store.latest_complete(SOURCE, "full").manifest()
        same = dict(manifest.rows) == dict(served.rows)
        counts = ", ".join(f"{count:,} {name}" for name, count in sorted(manifest.rows.items()))
        lines = [
            f"served {SOURCE}'s latest export over SCIM on 127.0.0.1 and extracted it as {SOURCE}-live: "
            f"{counts}; status {manifest.status}",
            f"same counts as the served export: {'yes' if same else 'NO'} -> {result.export_path}",
        ]
        return lines, result.complete and same

    return _timed("extract", work)


def _extract_okta(store: Store) -> Stage:
    """The IdP served as Okta Management API pages and extracted as a ``kind = "okta"`` system."""
    from recon.config.toml import parse_config
    from recon.extract.crawl import ExtractRequest
    from recon.simulate.okta_pages import serve_okta_pages
    from recon.sources.extract import extract_source

    def work() -> tuple[list[str], bool]:
        served = store.latest_complete(SOURCE, "full")
        name = f"{SOURCE}-okta"
        with serve_okta_pages(store, SOURCE, served.cycle) as pages:
            system = parse_config(
                {"systems": {name: {"kind": "okta", "base_url": pages.base_url, "token_env": _OKTA_ENV}}}
            ).system(name)
            with _environment(_OKTA_ENV, pages.token):
                result = extract_source(store, system, ExtractRequest(system=name, cycle=served.cycle))
        manifest = result.manifest
        same = _equal_rows(result.export_path / "users.parquet", served.table("users"), _OKTA_COLUMNS)
        users = manifest.rows.get("users", 0)
        counts = ", ".join(f"{count:,} {what}" for what, count in sorted(manifest.rows.items()))
        lines = [
            f"served {SOURCE}'s latest export as Okta API pages on 127.0.0.1 (Link paging, leavers "
            f"listed apart as Okta does) and extracted it as {name} (kind okta): {counts}; "
            f"status {manifest.status}",
            f"users whose mapped attributes equal the served export: {same:,} of {users:,} "
            f"-> {result.export_path}",
        ]
        return lines, result.complete and same == users == served.manifest().rows.get("users")

    return _timed("extract (okta)", work)


_OKTA_ENV = "RECON_DEMO_OKTA_TOKEN"
# the user columns both providers' default mappings fill, compared against the served export
_MAPPED_COLUMNS = (
    "id",
    "user_name",
    "active",
    "display_name",
    "given_name",
    "family_name",
    "primary_email",
    "title",
    "department",
    "employee_number",
    "manager_id",
)
_OKTA_COLUMNS = (*_MAPPED_COLUMNS, "user_type")


def _extract_entra(store: Store) -> Stage:
    """The IdP's last two cycles served as Microsoft Graph pages (and a local token endpoint) and
    extracted as a ``kind = "entra"`` system: a full export, then a Graph delta round, each checked
    against the simulator's exports."""
    from recon.config.toml import parse_config
    from recon.deltas.run import deltas
    from recon.extract.crawl import ExtractRequest
    from recon.simulate.graph_pages import serve_graph
    from recon.simulate.provider_view import Directory
    from recon.sources.extract import extract_source

    def work() -> tuple[list[str], bool]:
        cycles = store.cycles(SOURCE, "full")[-2:]
        base, head = cycles[0], cycles[-1]
        name = f"{SOURCE}-entra"
        served = [Directory.from_export(store, SOURCE, cycle) for cycle in cycles]
        for directory in served:
            directory.assign(users=_ENTRA_ASSIGNED[0], groups=_ENTRA_ASSIGNED[1])
        with serve_graph(served[0], app_id=_ENTRA_APP) as graph:
            table = {
                "kind": "entra",
                "tenant_id": graph.state.tenant,
                "client_id": graph.state.client_id,
                "client_secret_env": _ENTRA_ENV,
                "app_id": _ENTRA_APP,
                "graph_url": graph.url,
                "login_url": graph.url,
                "ca_bundle": str(graph.ca_bundle),
            }
            system = parse_config({"systems": {name: table}}).system(name)
            with _environment(_ENTRA_ENV, graph.state.client_secret):
                full = extract_source(store, system, ExtractRequest(system=name, cycle=base))
                rounds = []
                if head != base:
                    graph.state.publish(served[1])
                    rounds.append(
                        extract_source(store, system, ExtractRequest(system=name, cycle=head, since=base))
                    )
                    rounds.append(extract_source(store, system, ExtractRequest(system=name, cycle=head)))
        manifest = full.manifest
        users = manifest.rows.get("users", 0)
        same = _equal_rows(
            full.export_path / "users.parquet", store.export(SOURCE, base).table("users"), _ENTRA_COLUMNS
        )
        population = _members(full.export_path, assignment_group_id(_ENTRA_APP))
        expected = served[0].expected_population()
        counts = ", ".join(f"{count:,} {what}" for what, count in sorted(manifest.rows.items()))
        counted = manifest.total_results.get("Users")
        ok = full.complete and same == users == len(served[0].users) == counted and population == expected
        lines = [
            f"served {SOURCE}'s export of {base} as Microsoft Graph v1.0 pages with a token endpoint on "
            f"127.0.0.1 (MSAL over TLS, @odata.nextLink paging) and extracted it as {name} (kind entra): "
            f"{counts}; status {manifest.status}",
            f"users whose mapped attributes equal the served export: {same:,} of {users:,} (Graph's "
            f"/users/$count: {counted if counted is not None else '?'}); expected "
            f"population (app-assignment group) {len(population):,} users = the app's assignments "
            f"({_ENTRA_ASSIGNED[0]} users, {_ENTRA_ASSIGNED[1]} groups): "
            + ("yes" if population == expected else "NO"),
        ]
        if rounds:
            delta, head_full = rounds
            returned = {
                str(i) for i in pl.read_parquet(delta.export_path / "users.parquet", columns=["id"])["id"]
            }
            truth = _changed_users(
                store.export(SOURCE, base).table("users"), store.export(SOURCE, head).table("users")
            )
            summary = deltas(store, name, base, head)
            findings = sum(summary.counts.values())
            ok = ok and delta.complete and head_full.complete and returned == truth and findings == 0
            lines.append(
                f"Graph delta round {base[:8]} -> {head[:8]} (the stored @odata.deltaLink): "
                f"{len(returned):,} users returned = the simulator's {len(truth):,} changed, created or "
                f"deleted users: {'yes' if returned == truth else 'NO'}; "
                f"recon deltas: {_count(findings, 'finding')} (truth: 0, Graph reported every change)"
                + _kinds({k: v for k, v in summary.counts.items() if v})
            )
        lines.append(f"-> {full.export_path}")
        return lines, ok

    return _timed("extract (entra)", work)


_ENTRA_ENV = "RECON_DEMO_ENTRA_SECRET"
_ENTRA_APP = "00000000-0000-0000-0000-0000000051ac"  # the demo's enterprise app (Slack)
_ENTRA_ASSIGNED = (25, 3)  # users and groups the demo assigns to it
_ENTRA_COLUMNS = _MAPPED_COLUMNS


def _members(export: Path, group_id: str) -> set[str]:
    """Member ids of one group in an export."""
    table = pl.read_parquet(export / "memberships.parquet", columns=["group_id", "member_id"])
    return set(table.filter(pl.col("group_id") == group_id)["member_id"].to_list())


def _changed_users(base: Path, head: Path) -> set[str]:
    """Users created, deleted, or changed on the compared columns between two exports."""
    keep = list(_ENTRA_COLUMNS)
    before = pl.read_parquet(base, columns=keep, hive_partitioning=False)
    after = pl.read_parquet(head, columns=keep, hive_partitioning=False)
    changed = after.join(before, on=keep, how="anti", nulls_equal=True)["id"].to_list()
    gone = before.join(after, on="id", how="anti")["id"].to_list()
    return {str(i) for i in [*changed, *gone]}


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment for the block (the demo's token never leaves the process)."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _reconcile(store: Store, config: Config) -> tuple[Stage, tuple[int, int]]:
    from recon.reconcile.run import reconcile

    equal = runs = 0

    def work() -> tuple[list[str], bool]:
        nonlocal equal, runs
        lines = []
        for target in TARGETS:
            last = None
            for cycle in _common_cycles(store, SOURCE, target):
                last = reconcile(store, SOURCE, target, cycle, config)
                truth = store.truth_findings_dir(SOURCE, target, cycle)
                runs += 1
                equal += _same_rows(last.findings_path, truth / "findings.parquet", _FINDING_KEY)
            if last is not None:
                lines.append(
                    f"{target} at {last.cycle}: {_count(last.total, 'finding')}" + _kinds(last.by_severity)
                )
                lines.append("  " + _kinds(last.by_kind).strip(" ()"))
        lines.append(f"findings equal the simulator's truth in {equal} of {runs} runs (target x cycle)")
        return lines, equal == runs

    return _timed("reconcile", work), (equal, runs)


def _deltas(store: Store) -> tuple[Stage, tuple[int, int]]:
    from recon.deltas.run import deltas

    equal = runs = 0

    def work() -> tuple[list[str], bool]:
        nonlocal equal, runs
        worst = None
        per_cycle = []
        for head in store.cycles(SOURCE, "delta"):
            summary = deltas(store, SOURCE, head=head)
            per_cycle.append(f"{head[:8]} {summary.completeness:.1%}")
            truth = store.truth_deltas_dir(SOURCE, head)
            runs += 1
            equal += _same_rows(summary.findings_path, truth / "delta_findings.parquet", _DELTA_KEY)
            if worst is None or summary.completeness < worst.completeness:
                worst = summary
        lines = [f"completeness per cycle: {' · '.join(per_cycle)}"]
        if worst is not None:
            lines.append(
                f"{runs} delta exports checked; least complete: head {worst.head}, "
                f"{worst.completeness:.1%} ({worst.returned_of_those} of {worst.changed_or_created} changes "
                "returned)" + _kinds({k: v for k, v in worst.counts.items() if v})
            )
            if worst.watermark_lag_seconds is not None:
                lines.append(
                    f"a watermark lag of {worst.watermark_lag_seconds} s would catch its "
                    f"{worst.boundary_misses} boundary misses; {worst.not_catchable_misses} are not "
                    "catchable by any lag (lastModified not advanced)"
                )
        lines.append(f"delta findings equal the simulator's truth in {equal} of {runs} runs")
        return lines, equal == runs

    return _timed("deltas", work), (equal, runs)


def _plan(store: Store, config: Config) -> Stage:
    from recon.bulk.plan import plan

    def work() -> tuple[list[str], bool]:
        summary = plan(store, SOURCE, TARGETS[0], config=config)
        return [summary.headline(), "nothing was sent: recon bulk apply PLAN_DIR --yes would send it"], True

    return _timed("bulk plan", work)


def _report(store: Store) -> tuple[Stage, Path]:
    from recon.reports import history, write_report

    path = store.root / "report.html"

    def work() -> tuple[list[str], bool]:
        summary = history(store)
        write_report(store, path, summary=summary)
        return [*summary.verdicts().values(), f"report: {path}"], True

    return _timed("history + report", work), path


def _audit(store: Store, config: Config) -> Stage:
    from recon.audit import plan_audit, run_audit

    def work() -> tuple[list[str], bool]:
        result = run_audit(store, config, plan_audit(store, config))
        plan = result.plan
        failed = len(result.failed)
        lines = [
            f"recon audit, cycle {plan.cycle}: {len(result.runs)} stage runs over {len(plan.systems)} "
            f"systems and {len(plan.pairs)} pairs; {failed} failed, "
            f"{_count(len(result.breaches), 'threshold')} exceeded -> {result.record}",
            f"metrics for Prometheus: {result.metrics}",
        ]
        return lines, not result.failed and result.metrics is not None

    return _timed("audit", work)


def _common_cycles(store: Store, source: str, target: str) -> list[str]:
    return sorted(set(store.cycles(source, "full")) & set(store.cycles(target, "full")))


def _equal_rows(mine: Path, theirs: Path, columns: Iterable[str]) -> int:
    """How many rows of ``mine`` have an equal row in ``theirs`` on ``columns``."""
    keep = list(columns)
    ours = pl.read_parquet(mine, columns=keep, hive_partitioning=False)
    other = pl.read_parquet(theirs, columns=keep, hive_partitioning=False).unique()
    return ours.join(other, on=keep, how="semi", nulls_equal=True).height


def _same_rows(mine: Path, truth: Path, key: Iterable[str]) -> int:
    """1 when the two findings files hold the same rows on ``key`` (as sets), else 0."""
    columns = list(key)
    ours = pl.read_parquet(mine, columns=columns, hive_partitioning=False).unique()
    theirs = pl.read_parquet(truth, columns=columns, hive_partitioning=False).unique()
    if ours.height != theirs.height:
        return 0
    return int(ours.join(theirs, on=columns, how="anti", nulls_equal=True).height == 0)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _kinds(counts: Mapping[str, int]) -> str:
    shown = [f"{kind} {count:,}" for kind, count in sorted(counts.items()) if count]
    return f" ({' · '.join(shown)})" if shown else ""


def demo_data_dir(default: Path | str | None = None) -> Path:
    """A data folder with findings for notebooks: ``default``, else ``$RECON_DATA_DIR``, else
    ``./data``, ``./data/demo`` or the same under ``..`` (a notebook runs in ``notebooks/``) when one
    holds findings;
    otherwise ``recon demo`` is run into a new temporary folder, whose path is returned.
    """
    if default is not None:
        candidates = [Path(default)]
    elif os.environ.get("RECON_DATA_DIR"):
        candidates = [Path(os.environ["RECON_DATA_DIR"])]
    else:
        # ./data/demo is where `recon demo` writes by default; a notebook runs in notebooks/.
        candidates = [Path("data"), Path("data") / "demo", Path("..") / "data", Path("..") / "data" / "demo"]
    for candidate in candidates:
        if has_findings(candidate):
            return candidate.resolve()
    fresh = Path(tempfile.mkdtemp(prefix="recon-demo-")) / "data"
    run_demo(fresh)
    if not has_findings(fresh):
        raise DataNotFound(f"recon demo wrote no findings under {fresh}")
    return fresh
