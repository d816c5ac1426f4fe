"""``recon deltas``: delta correctness for one system, base and head cycle."""

from __future__ import annotations

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
    from recon.deltas import DeltaSummary


def register(app: typer.Typer) -> None:
    """Add ``deltas`` to the app."""
    app.command("deltas")(deltas_command)


def deltas_command(
    system: Annotated[str, typer.Option("--system", help="System whose delta export is checked.")],
    base: Annotated[
        str | None,
        typer.Option("--base", help="Base cycle (full export). Default: the cycle before --head with one."),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="Head cycle (full + delta export). Default: latest with a delta export."),
    ] = None,
    memory_limit: MemoryLimitOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Was the delta export of HEAD exactly what changed since BASE? Exit 1 when a [thresholds] limit
    on a delta kind (e.g. missed_change = 0) is exceeded."""
    from recon.deltas.run import KINDS, deltas

    loaded = open_config(config)
    thresholds = loaded.thresholds
    store = open_store(data_dir)
    summary = deltas(store, system, base, head, memory_limit=memory_limit, engine=loaded.engine.named(engine))
    exceeded = [
        (k, summary.counts[k], limit)
        for k, limit in thresholds.items()
        if k in KINDS and summary.counts[k] > limit
    ]
    if as_json:
        emit_json({**summary.to_json(), "thresholds_exceeded": [k for k, _, _ in exceeded]})
    else:
        print_summary(summary)
        for kind, count, limit in exceeded:
            echo(f"  threshold {kind}: {count} (limit {limit}) EXCEEDED")
    for note in summary.notes:
        warn(note)
    warn_schema_findings(store, [(system, summary.base), (system, summary.head)])
    if exceeded:
        raise typer.Exit(1)


def print_summary(summary: DeltaSummary) -> None:
    """Completeness, counts per kind and resource type, the watermark lag, and where the rows are."""
    from recon.deltas.run import KINDS

    echo(
        f"deltas {summary.system}: base {summary.base} -> head {summary.head}, "
        f"completeness {summary.completeness:.1%} "
        f"({summary.returned_of_those} of {summary.changed_or_created} changes and creations returned)"
    )
    echo(f"  filter: {summary.filter or '(none recorded)'}")
    for resource_type, counts in summary.by_type.items():
        echo(
            f"  {resource_type + 's':<7} changed {counts['changed']}, created {counts['created']}, "
            f"deleted {counts['deleted']}, returned {counts['returned']}"
        )
    width = max(len(kind) for kind in KINDS)
    for kind in KINDS:
        echo(f"  {kind:<{width}} {summary.counts.get(kind, 0):>8}")
    if summary.watermark_lag_seconds is not None:
        echo(
            f"  watermark lag needed: {summary.watermark_lag_seconds} s "
            f"(catches {summary.boundary_misses} boundary miss{_plural(summary.boundary_misses)}); "
            f"not catchable by any lag: {summary.not_catchable_misses} (lastModified not advanced); "
            f"missed although after the watermark: {summary.after_watermark_misses}"
        )
    print_paths(summary)
    echo(f"  findings: {summary.findings_path}")


def print_paths(summary: DeltaSummary) -> None:
    """Changes per attribute path (most changed first), and which schemas decided caseExact."""
    if summary.content_schema:
        echo(f"  content compared as RFC 7643 says; caseExact from {summary.content_schema}")
    for resource_type, paths in summary.by_path.items():
        ranked = sorted(paths.items(), key=lambda item: (-item[1]["changed"], item[0]))
        for path, n in ranked[:_PATHS_SHOWN]:
            echo(
                f"  {resource_type} {path}: changed {n['changed']}, missed {n['missed']}, "
                f"lastModified not advanced {n['stale_last_modified']}"
            )
        if len(ranked) > _PATHS_SHOWN:
            echo(f"  {resource_type}: {len(ranked) - _PATHS_SHOWN} more attribute paths in summary.json")


_PATHS_SHOWN = 12


def _plural(count: int) -> str:
    return "" if count == 1 else "es"
