"""``recon history``: drift per cycle and system pair, from all findings on disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    EngineOpt,
    JsonOpt,
    echo,
    emit_json,
    open_config,
    open_store,
)

if TYPE_CHECKING:
    import polars as pl

    from recon.config import Config
    from recon.reports import HistorySummary
    from recon.store import Store


def register(app: typer.Typer) -> None:
    """Add ``history`` to the app."""
    app.command("history")(history_command)


def history_command(
    source: Annotated[
        str | None, typer.Option("--source", help="Only pairs with this source system.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only pairs with this target system.")
    ] = None,
    metrics: Annotated[
        Path | None,
        typer.Option(
            "--metrics",
            help="Also write these figures as Prometheus metrics to FILE (docs/metrics.md).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    engine: EngineOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift per cycle: findings per kind and severity, open-drift age, deprovisioning latency,
    delta filter completeness."""
    from recon.reports import history

    settings = open_config(config)
    store = open_store(data_dir)
    summary = history(store, source=source, target=target, engine=settings.engine.named(engine))
    if metrics is not None:
        _write_metrics(store, summary, metrics, settings)
    if as_json:
        emit_json(summary.to_json())
        return
    _print(summary)


def _write_metrics(store: Store, summary: HistorySummary, path: Path, settings: Config) -> None:
    from recon.audit.metrics import collect, write_textfile
    from recon.audit.thresholds import breaches_from_history

    breaches = breaches_from_history(settings.thresholds, summary)
    families = collect(store, summary, thresholds=settings.thresholds, breaches=breaches)
    write_textfile(path, families, settings.metrics.format)
    typer.echo(f"recon: metrics written to {path}", err=True)


def _pair(source: str, target: str) -> pl.Expr:
    import polars as pl

    return (pl.col("source") == source) & (pl.col("target") == target)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _print(summary: HistorySummary) -> None:
    from recon.reports.history import SEVERITIES

    verdicts = summary.verdicts()
    for source, target in summary.pairs:
        echo(verdicts[(source, target)])
        rows = summary.cycles.filter(_pair(source, target))
        header = ["cycle", "findings", *SEVERITIES, "new", "resolved", "oldest"]
        echo("  " + f"{header[0]:<18}" + "".join(f"{h:>9}" for h in header[1:]))
        for row in rows.iter_rows(named=True):
            values = [
                row["findings"],
                *(row[s] for s in SEVERITIES),
                row["new"],
                row["resolved"],
                row["max_age"],
            ]
            echo("  " + f"{row['cycle']:<18}" + "".join(f"{v:>9}" for v in values))
        latency = summary.latency_of(source, target)
        if latency["leavers"]:
            echo(
                f"  deprovisioning latency: {latency['leavers']} leaver(s), {latency['resolved']} resolved "
                f"(p50 {_fmt(latency['p50_cycles'])} / p95 {_fmt(latency['p95_cycles'])} / "
                f"max {_fmt(latency['max_cycles'])} cycles; p50 {_fmt(latency['p50_hours'])} / "
                f"p95 {_fmt(latency['p95_hours'])} / max {_fmt(latency['max_hours'])} h), "
                f"{latency['still_open']} still open"
            )
        still = summary.still_active().filter(_pair(source, target))
        for row in still.iter_rows(named=True):
            echo(
                f"  still active: {row['user_name'] or row['source_id']} (source id {row['source_id']}, "
                f"{target} account {row['target_id'] or '?'}) left {row['left_cycle']}, "
                f"active for {row['open_cycles']} cycle(s)"
            )
        echo()
    if not summary.completeness.is_empty():
        echo("delta filter completeness:")
        for row in summary.completeness.iter_rows(named=True):
            echo(
                f"  {row['system']:<12} head {row['head']}  base {row['base'] or '-'}  "
                f"completeness {_fmt(row['completeness'], 2)}  missed {row['missed_change']} change(s), "
                f"{row['missed_creation']} creation(s); stale lastModified {row['stale_last_modified']}"
            )
