"""``recon reconcile``: source-vs-target findings for one cycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    EngineOpt,
    JsonOpt,
    MemoryLimitOpt,
    echo,
    emit_json,
    open_config,
    open_store,
    warn,
    warn_schema_findings,
)

if TYPE_CHECKING:
    from recon.reconcile import ReconcileSummary


def register(app: typer.Typer) -> None:
    """Add ``reconcile`` to the app."""
    app.command("reconcile")(reconcile_command)


def reconcile_command(
    source: Annotated[str, typer.Option("--source", help="Source system (the IdP).")],
    target: Annotated[str, typer.Option("--target", help="Target system (the downstream app).")],
    cycle: Annotated[
        str | None,
        typer.Option("--cycle", help="Cycle id. Default: latest with complete full exports of both."),
    ] = None,
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Accept partial exports (marked in the summary).")
    ] = False,
    memory_limit: MemoryLimitOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Source-vs-target mismatches for one cycle; exit 1 when a [thresholds] limit is exceeded."""
    from recon.reconcile import reconcile

    store = open_store(data_dir)
    loaded = open_config(config)
    summary = reconcile(
        store,
        source,
        target,
        cycle,
        loaded,
        allow_partial=allow_partial,
        memory_limit=memory_limit,
        engine=loaded.engine.named(engine),
    )
    if as_json:
        emit_json(summary.to_json())
    else:
        print_summary(summary)
    for message in summary.warnings:
        warn(message)
    warn_schema_findings(store, [(summary.source, summary.cycle), (summary.target, summary.cycle)])
    if summary.exceeded:
        raise typer.Exit(1)


def print_summary(summary: ReconcileSummary, *, examples: bool = True) -> None:
    """The console summary: counts per kind and severity, examples, thresholds, path."""
    from recon.reconcile.run import KINDS, SEVERITIES

    echo(
        f"reconcile {summary.source} -> {summary.target}, cycle {summary.cycle}: "
        f"{summary.total} finding{'s' if summary.total != 1 else ''}"
    )
    if summary.partial_inputs:
        echo("  inputs include PARTIAL exports (--allow-partial): " + ", ".join(summary.partial_inputs))
    echo("  by severity: " + " · ".join(f"{s} {summary.by_severity.get(s, 0)}" for s in SEVERITIES))
    width = max(len(kind) for kind in KINDS)
    for kind in KINDS:
        count = summary.by_kind.get(kind, 0)
        if count:
            echo(f"  {kind:<{width}} {count:>8}")
    if examples:
        for kind in KINDS:
            rows = summary.examples.get(kind, ())
            if not rows:
                continue
            count = summary.by_kind.get(kind, 0)
            echo(f"  {kind} (first {len(rows)} of {count}):")
            for row in rows:
                echo(f"    - [{row.get('severity')}] {_ids(row)}{row.get('detail')}")
    for result in summary.thresholds:
        state = "EXCEEDED" if result.exceeded else "ok"
        echo(f"  threshold {result.kind}: {result.count} (limit {result.limit}) {state}")
    echo(f"  findings: {summary.findings_path}")


def _ids(row: Mapping[str, str | None]) -> str:
    if row.get("group_id") or row.get("target_group_id"):
        pair = f"{row.get('group_id') or '-'} -> {row.get('target_group_id') or '-'}"
        if row.get("source_id") or row.get("target_id"):
            pair = f"{row.get('source_id') or '-'} -> {row.get('target_id') or '-'} in {pair}"
    else:
        pair = f"{row.get('source_id') or '-'} -> {row.get('target_id') or '-'}"
    return f"({pair}) "
