"""``recon report``: one self-contained HTML file (charts inline, works offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recon.cli.common import DataDirOpt, JsonOpt, echo, emit_json, open_store


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""
    app.command("report")(report_command)


def report_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write. Default <data-dir>/report.html.", show_default=False),
    ] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a self-contained HTML report of drift over cycles (opens offline in a browser)."""
    from recon.reports import history
    from recon.reports.html import write_report  # altair takes seconds to import: only when a report is made

    store = open_store(data_dir)
    summary = history(store)
    path = write_report(store, out, summary=summary)
    if as_json:
        emit_json({"report": str(path), "verdicts": list(summary.verdicts().values())})
        return
    for verdict in summary.verdicts().values():
        echo(verdict)
    echo(f"report: {path}")
