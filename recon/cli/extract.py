"""``recon extract``: a live export from a SCIM server (CONTRACT §1).

Exit codes: 0 the export is complete · 1 it was published but is ``partial`` (records may be
missing; the reasons are in the manifest's anomalies) · 2 nothing usable was read (connection,
TLS, authentication, configuration) · 130 interrupted (``--resume`` continues).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    echo,
    emit_json,
    open_config,
    open_store,
    warn,
    warn_plain_http,
)

if TYPE_CHECKING:
    from recon.extract.live import ExtractResult, ProgressEvent
    from recon.store import Manifest


def register(app: typer.Typer) -> None:
    """Add ``extract`` to the app."""
    app.command("extract")(extract_command)


def extract_command(
    system: Annotated[str, typer.Option("--system", help="System name from recon.toml.")],
    cycle: Annotated[str | None, typer.Option("--cycle", help="Cycle id (default: now, UTC).")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help='Delta export: meta.lastModified gt "TS".')
    ] = None,
    filter_expr: Annotated[
        str | None, typer.Option("--filter", help="Delta export with this SCIM filter.")
    ] = None,
    resources: Annotated[
        str, typer.Option("--resources", help="Users, Groups or Users,Groups.")
    ] = "Users,Groups",
    page_size: Annotated[
        int | None,
        typer.Option("--page-size", min=1, help="Page size (default: recon.toml, capped by the server)."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, max=32, help="Pages fetched at once (index paging).")
    ] = None,
    paging: Annotated[str, typer.Option("--paging", help="auto, index or cursor.")] = "auto",
    rate_limit: Annotated[
        float | None, typer.Option("--rate-limit", help="At most this many requests per second.")
    ] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="CA bundle (PEM) to verify the server with.")
    ] = None,
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Stop a crawl after this many pages (partial).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last interrupted extract.")] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export Users and Groups from a live SCIM server into the data folder."""
    from recon.extract.resume import ResumeJournal
    from recon.sources.system import ExtractRequest, extract_system

    store = open_store(data_dir)
    settings = open_config(config)
    request = ExtractRequest(
        system=system,
        cycle=cycle,
        since=since,
        filter_expr=filter_expr,
        resources=tuple(r for r in resources.split(",") if r.strip()),
        page_size=page_size,
        concurrency=concurrency,
        paging=paging,
        resume=resume,
        max_pages=max_pages,
    )
    system_config = settings.system(system)
    warn_plain_http(system_config.base_url)
    if not resume:
        for name in ResumeJournal.pending(store, system):
            warn(
                f"an interrupted extract ({name}) can be continued with: "
                f"recon extract --system {system} --resume"
            )
    overrides: dict[str, Any] = {"rate_limit": rate_limit, "ca_bundle": ca_bundle}
    show = not as_json and sys.stderr.isatty()
    try:
        with _terminate_as_interrupt(), _progress(show) as progress:
            result = extract_system(store, settings, request, progress=progress, overrides=overrides)
    except KeyboardInterrupt:
        typer.echo(
            f"recon: interrupted; pages received so far are kept: recon extract --system {system} --resume",
            err=True,
        )
        raise typer.Exit(130) from None
    _report(result, as_json)
    if not result.complete:
        raise typer.Exit(1)


def _report(result: ExtractResult, as_json: bool) -> None:
    manifest = result.manifest
    if as_json:
        held = str(result.held) if result.held else None
        emit_json({"export": str(result.export_path), "manifest": manifest.to_json(), "held": held})
        return
    rows = manifest.rows
    echo(
        f"extracted {manifest.system} cycle {manifest.cycle} ({manifest.kind}, {manifest.status}): "
        f"{rows.get('users', 0)} users, {rows.get('groups', 0)} groups, "
        f"{rows.get('memberships', 0)} memberships "
        f"in {manifest.pages} pages -> {result.export_path}"
    )
    plan = manifest.origin.get("plan", {})
    paging = ", ".join(f"{r} by {m}" for r, m in plan.get("paging", {}).items())
    echo(f"  paging: {paging}; page size {plan.get('page_size')}; concurrency {plan.get('concurrency')}")
    if manifest.filter:
        where = "locally (the server does not filter)" if manifest.filtered_locally else "by the server"
        echo(f"  filter: {manifest.filter} (applied {where})")
    if result.resumed:
        echo(f"  resumed: {manifest.origin.get('resumed_pages', 0)} page(s) replayed from the journal")
    _provider_counts(manifest)
    for anomaly in manifest.anomalies:
        mark = "!" if anomaly.get("affects_completeness") else "-"
        examples = anomaly.get("examples") or []
        sample = f" (e.g. {examples[0]})" if examples else ""
        echo(f"  {mark} {anomaly['kind']} x{anomaly.get('count', 1)}: {anomaly['detail']}{sample}")
    if result.held is not None:
        warn(
            f"this run is partial and cycle {manifest.cycle} already has a complete export, which stays at "
            f"{result.export_path}; this run was kept at {result.held}"
        )
    elif not result.complete:
        warn("the export is partial: records may be missing (see the anomalies marked !); exit code 1")


def _provider_counts(manifest: Manifest) -> None:
    """An Entra or Okta full export: exported vs the provider's own count (recon.sources.counts)."""
    from recon.sources.counts import count_lines

    for line in count_lines(manifest):
        echo(f"  {line}")


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill) unwinds like Ctrl-C, so staging is cleaned and the journal kept."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _progress(show: bool) -> Iterator[Any]:
    """A per-resource progress bar (rate, ETA) on a terminal; None otherwise."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:

        def update(event: ProgressEvent) -> None:
            task = tasks.get(event.resource)
            if task is None:
                task = tasks[event.resource] = bar.add_task(event.resource, total=event.total, rate="")
            speed = bar.tasks[task].speed
            bar.update(
                task,
                completed=event.items,
                total=event.total if event.total is not None else None,
                rate=f"{speed:,.0f}/s" if speed else "",
            )

        yield update
