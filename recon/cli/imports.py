"""``recon import``: SCIM files into an export partition."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recon.cli.common import DataDirOpt, JsonOpt, echo, emit_json, open_store, warn
from recon.errors import UsageError


def register(app: typer.Typer) -> None:
    """Add ``import`` to the app."""
    app.command("import")(import_command)


def import_command(
    files: Annotated[list[Path], typer.Argument(help="ListResponse JSON, JSON array, or NDJSON (.gz too).")],
    system: Annotated[str, typer.Option("--system", help="System name the data belongs to.")],
    cycle: Annotated[str, typer.Option("--cycle", help="Cycle id (sorts in time order).")],
    kind: Annotated[str, typer.Option("--kind", help="full or delta.")] = "full",
    since: Annotated[
        str | None, typer.Option("--since", help='Delta taken with meta.lastModified gt "TS".')
    ] = None,
    filter_expr: Annotated[
        str | None, typer.Option("--filter", help="Delta taken with this SCIM filter.")
    ] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Import valid resources; write rejects to rejects.parquet.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an export already imported for this cycle.")
    ] = False,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load SCIM data from files (ListResponse pages, a JSON array of resources, or NDJSON)."""
    from recon.extract.files import import_files

    if kind not in ("full", "delta"):
        raise UsageError(f"--kind {kind!r}: use full or delta")
    store = open_store(data_dir)
    result = import_files(
        store,
        files,
        system=system,
        cycle=cycle,
        kind=kind,  # type: ignore[arg-type]
        since=since,
        filter_expr=filter_expr,
        lenient=lenient,
        force=force,
    )
    manifest = result.manifest
    if as_json:
        emit_json(
            {
                "export": str(result.export_path),
                "manifest": manifest.to_json(),
                "rejects": str(result.rejects_path) if result.rejects_path else None,
            }
        )
        return
    rows = manifest.rows
    echo(
        f"imported {system} cycle {cycle} ({kind}): {rows.get('users', 0)} users, "
        f"{rows.get('groups', 0)} groups, {rows.get('memberships', 0)} memberships -> {result.export_path}"
    )
    if manifest.filter:
        echo(f"  filter: {manifest.filter}")
    for anomaly in manifest.anomalies:
        echo(f"  anomaly {anomaly['kind']}: {anomaly['detail']}")
    if result.rejects_path:
        warn(
            f"{manifest.rejected} resource(s) rejected and written to {result.rejects_path}; "
            "the export is marked partial"
        )
