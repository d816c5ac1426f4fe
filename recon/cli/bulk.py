"""``recon bulk analyze|plan|apply``: SCIM /Bulk outcomes, remediation plans, and applying them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import ConfigOpt, DataDirOpt, JsonOpt, echo, emit_json, open_config, open_store, warn
from recon.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from recon.bulk.analyze import AnalyzeSummary
    from recon.bulk.apply import ApplySummary
    from recon.bulk.plan import PlanSummary

bulk_app = typer.Typer(
    name="bulk",
    help="SCIM /Bulk: per-operation outcomes, remediation plans from findings, applying them safely.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    """Add the ``bulk`` command group to the app."""
    app.add_typer(bulk_app, name="bulk")


@bulk_app.command("analyze")
def analyze_command(
    system: Annotated[str, typer.Option("--system", help="The target the requests were sent to.")],
    request: Annotated[
        list[Path] | None,
        typer.Option("--request", help="BulkRequest JSON file (repeat, paired with --response)."),
    ] = None,
    response: Annotated[
        list[Path] | None,
        typer.Option("--response", help="BulkResponse JSON file, in the order of --request."),
    ] = None,
    log: Annotated[
        list[Path] | None,
        typer.Option("--log", help="NDJSON log of exchanges (e.g. a run's exchanges.ndjson)."),
    ] = None,
    cycle: Annotated[
        str | None,
        typer.Option("--cycle", help="Target export to check against. Default: the latest complete."),
    ] = None,
    show: Annotated[int, typer.Option("--show", help="Operations not applied to list.")] = 20,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which operations of bulk requests really landed; exit 1 when any did not."""
    from recon.bulk.analyze import analyze_files

    requests, responses = request or [], response or []
    if len(requests) != len(responses):
        raise UsageError(
            f"give one --response per --request ({len(requests)} requests, {len(responses)} responses)"
        )
    summary, frame = analyze_files(
        open_store(data_dir),
        system,
        pairs=list(zip(requests, responses, strict=True)),
        logs=log or [],
        cycle=cycle,
    )
    if as_json:
        emit_json(summary.to_json())
    else:
        print_analysis(summary, frame, show=show)
    if summary.unapplied:
        raise typer.Exit(1)


def print_analysis(summary: AnalyzeSummary, frame: pl.DataFrame, *, show: int = 20) -> None:
    """Counts per outcome, then the operations that did not land (first ``show``)."""
    import polars as pl

    from recon.bulk.analyze import OUTCOMES, UNAPPLIED

    echo(
        f"bulk outcomes on {summary.system} (export cycle {summary.export_cycle}): {summary.operations} "
        f"operation{'s' if summary.operations != 1 else ''}, {summary.unapplied} not applied"
    )
    echo("  " + " · ".join(f"{name} {summary.outcomes.get(name, 0)}" for name in OUTCOMES))
    odd = frame.filter(pl.col("outcome").is_in(sorted(UNAPPLIED | {"failed_but_applied"})))
    for row in odd.head(show).iter_rows(named=True):
        status = row["status"] if row["status"] is not None else "-"
        why = row["detail"] or row["note"] or ""
        seen = f"; {row['unmet']}" if row["unmet"] else ""
        echo(
            f"  - {row['outcome']}: {row['method']} {row['path']} bulkId={row['bulk_id'] or '-'} "
            f"status={status}{' ' + row['scim_type'] if row['scim_type'] else ''} {why}{seen}".rstrip()
        )
    if odd.height > show:
        echo(f"  … and {odd.height - show} more")
    for message in summary.warnings:
        warn(message)
    echo(f"  outcomes: {summary.run_dir / 'bulk_outcomes.parquet'}")


@bulk_app.command("plan")
def plan_command(
    source: Annotated[str, typer.Option("--source", help="Source system (the IdP).")],
    target: Annotated[str, typer.Option("--target", help="Target system to remediate.")],
    cycle: Annotated[str | None, typer.Option("--cycle", help="Findings cycle. Default: the latest.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Plan folder. Default <data>/plans/source=A/target=B/cycle=C."),
    ] = None,
    delete_orphans: Annotated[
        bool,
        typer.Option("--delete-orphans", help="DELETE orphaned users and groups instead of deactivating."),
    ] = False,
    max_operations: Annotated[
        int | None, typer.Option("--max-operations", help="Override the target's maxOperations.")
    ] = None,
    max_payload_size: Annotated[
        int | None, typer.Option("--max-payload-size", help="Override the target's maxPayloadSize (bytes).")
    ] = None,
    if_match: Annotated[
        bool | None,
        typer.Option(
            "--if-match/--no-if-match", help="Send If-Match versions. Default: when the target has ETags."
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Turn reconcile findings into remediation BulkRequests chunked to the target's limits."""
    from recon.bulk.plan import plan

    summary = plan(
        open_store(data_dir),
        source,
        target,
        cycle,
        config=open_config(config),
        out=out,
        delete_orphans=delete_orphans,
        max_operations=max_operations,
        max_payload_size=max_payload_size,
        etag=if_match,
    )
    if as_json:
        emit_json(summary.to_json())
    else:
        print_plan(summary)


def print_plan(summary: PlanSummary) -> None:
    """The console summary of a plan (also what ``recon demo`` prints)."""
    limits = summary.limits
    echo(
        f"plan {summary.source} -> {summary.target}, cycle {summary.cycle}: {summary.total_operations} "
        f"operation{'s' if summary.total_operations != 1 else ''} in {summary.chunks} "
        f"chunk{'s' if summary.chunks != 1 else ''}, {summary.bytes:,} bytes "
        f"(largest {summary.largest_chunk:,})"
    )
    echo(
        f"  mode {summary.mode}; maxOperations {limits.max_operations}, maxPayloadSize "
        f"{limits.max_payload_size:,} from {limits.origin}; "
        f"If-Match {'off' if limits.etag is False else 'on'}"
    )
    if summary.operations:
        echo("  " + " · ".join(f"{kind} {count}" for kind, count in summary.operations.items()))
    echo(f"  remediates {summary.remediated} finding{'s' if summary.remediated != 1 else ''}")
    for reason, count in summary.skipped.items():
        echo(f"  left alone: {count} x {reason}")
    echo(f"  plan: {summary.out_dir}")
    if summary.total_operations:
        echo(f"  next: recon bulk apply {summary.out_dir} --system {summary.target}  (dry run; --yes sends)")


@bulk_app.command("apply")
def apply_command(
    plan_dir: Annotated[Path, typer.Argument(help="A plan folder written by recon bulk plan.")],
    system: Annotated[str, typer.Option("--system", help="The target (configured in recon.toml).")],
    yes: Annotated[bool, typer.Option("--yes", help="Really send (without it: a dry run).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent (the default).")
    ] = False,
    fail_on_errors: Annotated[
        int | None,
        typer.Option("--fail-on-errors", help="failOnErrors for each request; the run stops there."),
    ] = None,
    show: Annotated[int, typer.Option("--show", help="Operations to list per chunk in a dry run.")] = 5,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a plan (dry run by default), record every answer, re-extract and analyze."""
    from recon.bulk.apply import apply_plan, live_extractor
    from recon.bulk.send import HttpSender
    from recon.capabilities import load_capabilities

    if yes and dry_run:
        raise UsageError("--yes and --dry-run contradict each other")
    store = open_store(data_dir)
    if not yes:
        summary = apply_plan(store, plan_dir, system, dry_run=True, fail_on_errors=fail_on_errors)
        if as_json:
            emit_json(summary.to_json())
        else:
            print_preview(summary, show=show)
        return
    settings = open_config(config)
    target = settings.system(system)
    if load_capabilities(store, system) is None:
        from recon.extract.live import discover_and_save
        from recon.scim.client import ScimClient

        with ScimClient.from_config(target) as client:
            discover_and_save(store, client, system)
    sender = HttpSender.from_config(target)
    try:
        summary = apply_plan(
            store,
            plan_dir,
            system,
            sender=sender,
            extract=live_extractor(settings),
            dry_run=False,
            fail_on_errors=fail_on_errors,
        )
    finally:
        sender.close()
    if as_json:
        emit_json(summary.to_json())
    else:
        print_applied(summary)
    if summary.error:
        raise _fail(f"apply stopped: {summary.error}")
    if summary.analysis is not None and summary.analysis.unapplied:
        raise typer.Exit(1)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"recon: error: {message}", err=True)
    return typer.Exit(2)


def print_preview(summary: ApplySummary, *, show: int = 5) -> None:
    """What a dry run would send."""
    total = sum(p.operations for p in summary.preview)
    done = sum(p.already_done for p in summary.preview)
    echo(
        f"dry run: would send {total} operation{'s' if total != 1 else ''} to {summary.target} "
        f"({summary.mode}) in {sum(1 for p in summary.preview if p.operations)} request(s)"
        + (f"; {done} already done by earlier runs" if done else "")
    )
    for chunk in summary.preview:
        if not chunk.operations:
            continue
        methods = ", ".join(f"{m} {n}" for m, n in sorted(chunk.methods.items()))
        echo(f"  {chunk.file}: {chunk.operations} operations, {chunk.bytes:,} bytes ({methods})")
        for line in chunk.lines[:show]:
            echo(f"    {line}")
        if len(chunk.lines) > show:
            echo(f"    … and {len(chunk.lines) - show} more")
    echo(f"  nothing was sent; add --yes to apply {summary.plan_dir}")


def print_applied(summary: ApplySummary) -> None:
    """What a run did, then the outcome counts."""
    from recon.bulk.analyze import OUTCOMES

    echo(
        f"applied plan {summary.plan_id} to {summary.target} ({summary.mode}), run {summary.run_id}: "
        f"{summary.sent} operation(s) sent in {summary.requests} request(s), "
        f"{summary.already_done} already done, {summary.not_sent} not sent"
    )
    if summary.stopped and not summary.error:
        echo(f"  stopped: {summary.stopped}")
    if summary.analysis is not None:
        echo(
            f"  now true (export cycle {summary.analysis.export_cycle}): "
            + " · ".join(f"{name} {summary.analysis.outcomes.get(name, 0)}" for name in OUTCOMES)
        )
        echo(f"  outcomes: {summary.analysis.run_dir / 'bulk_outcomes.parquet'}")
    echo(f"  exchanges: {summary.run_dir / 'exchanges.ndjson' if summary.run_dir else '-'}")
