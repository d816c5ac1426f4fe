"""``recon audit``: the periodic audit (CONTRACT §1); see recon/audit/run.py for the stages.

Exit codes: 0 every stage ran and no threshold was exceeded · 1 a threshold was exceeded, a stage
failed or a pair could not be audited · 2 usage or configuration error, or another audit holds the
data folder's lock (nothing ran) · 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    echo,
    emit_json,
    open_config,
    open_store,
    state,
)

if TYPE_CHECKING:
    from recon.audit import AuditResult, StageRun


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the app."""
    app.command("audit")(audit_command)


def audit_command(
    cycle: Annotated[
        str | None,
        typer.Option(
            "--cycle",
            help="Cycle id of this audit. Default: now (UTC) when a live system is extracted, else the "
            "latest cycle with a complete full export of every system.",
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="Run only these stages (comma-separated): discover, extract, validate, reconcile, "
            "deltas, history, report, metrics, notify.",
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every stage of a periodic audit from recon.toml, write metrics, notify on breaches."""
    from recon.audit import parse_only, plan_audit, run_audit

    stages = parse_only(only)
    store = open_store(data_dir)
    settings = open_config(config)
    plan = plan_audit(store, settings, cycle=cycle, stages=stages)
    from recon.cli.extract import _terminate_as_interrupt  # SIGTERM unwinds like ^C: the lock is released

    progress = None if as_json or not sys.stderr.isatty() else _progress
    try:
        with _terminate_as_interrupt():
            result = run_audit(store, settings, plan, on_run=progress)
    except KeyboardInterrupt:
        typer.echo(f"recon: interrupted; audit of cycle {plan.cycle} stopped, its lock released", err=True)
        raise typer.Exit(130) from None
    if state.debug:
        for text in result.tracebacks:
            typer.echo(text, err=True)
    if as_json:
        emit_json(result.to_json())
    else:
        print_table(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _progress(run: StageRun) -> None:
    typer.echo(f"  {run.stage} {run.subject}: {run.status} ({run.seconds:.1f} s)", err=True)


def print_table(result: AuditResult) -> None:
    """One row per stage and subject: status, duration, headline; then the verdict."""
    echo(f"audit cycle {result.plan.cycle} ({result.data_dir}), {result.seconds:.1f} s")
    if result.took_over is not None:
        echo(f"  took over the stale lock of {result.took_over.describe()} (that process is gone)")
    header = ("stage", "subject", "status", "seconds", "headline")
    rows = [(r.stage, r.subject or "-", r.status, f"{r.seconds:.1f}", r.headline) for r in result.runs]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2])]
        echo("  " + "  ".join([*cells, row[3].rjust(widths[3]), row[4]]))
    for breach in result.breaches:
        echo(f"  threshold exceeded: {breach.describe()}")
    for pair in result.not_audited:
        echo(f"  NOT AUDITED: {pair} (no findings for this cycle; not clean)")
    if result.metrics is not None:
        echo(f"  metrics: {result.metrics}")
    if result.report is not None:
        echo(f"  report: {result.report}")
    echo(f"  record: {result.record}")
    failed = len(result.failed)
    echo(
        f"exit {result.exit_code}: {failed} stage run{'s' if failed != 1 else ''} failed or not audited, "
        f"{len(result.breaches)} threshold{'s' if len(result.breaches) != 1 else ''} exceeded"
    )
