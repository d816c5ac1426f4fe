"""``recon validate``: schema conformance of an export, or of a reconcile mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import (
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    MemoryLimitOpt,
    echo,
    emit_json,
    open_config,
    open_store,
)
from recon.errors import UsageError

if TYPE_CHECKING:
    from recon.validate import MappingSummary, ValidationSummary


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the app."""
    app.command("validate")(validate_command)


def validate_command(
    system: Annotated[
        str | None, typer.Option("--system", help="Validate this system's export against its schemas.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Validate the reconcile mapping from this system ...")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="... to this one.")] = None,
    cycle: Annotated[
        str | None,
        typer.Option("--cycle", help="Cycle id. Default: the latest complete full export (of both)."),
    ] = None,
    memory_limit: MemoryLimitOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check exports against RFC 7643 and the declared schemas; exit 1 when a threshold is exceeded."""
    from recon.validate import ValidationSummary, validate_export, validate_mapping

    if system is not None and (source is not None or target is not None):
        raise UsageError("give --system NAME, or --source A --target B, not both")
    store = open_store(data_dir)
    settings = open_config(config)
    summary: ValidationSummary | MappingSummary
    if system is not None:
        summary = validate_export(store, system, cycle, settings, memory_limit=memory_limit)
    elif source is not None and target is not None:
        summary = validate_mapping(store, source, target, settings, cycle=cycle)
    else:
        raise UsageError("give --system NAME (an export) or --source A --target B (a reconcile mapping)")
    if as_json:
        emit_json(summary.to_json())
    elif isinstance(summary, ValidationSummary):
        print_export_summary(summary)
    else:
        print_mapping_summary(summary)
    if summary.exceeded:
        raise typer.Exit(1)


def print_export_summary(summary: ValidationSummary, *, examples: bool = True) -> None:
    """Console summary of an export validation: counts per kind and severity, examples, path."""
    from recon.validate.rules import EXPORT_KINDS

    users, groups = summary.resources.get("User", 0), summary.resources.get("Group", 0)
    echo(
        f"validate {summary.system}, cycle {summary.cycle}: {users} users, {groups} groups "
        f"({summary.shapes} shape{'s' if summary.shapes != 1 else ''}): "
        f"{summary.total} finding{'s' if summary.total != 1 else ''}"
    )
    echo(f"  declared schemas: {summary.declared_from}")
    _counts(summary.by_kind, summary.by_severity, EXPORT_KINDS)
    if examples:
        for kind in EXPORT_KINDS:
            rows = summary.examples.get(kind, ())
            if rows:
                echo(f"  {kind} (first {len(rows)} of {summary.by_kind.get(kind, 0)}):")
                for row in rows:
                    echo(f"    - {row.get('resource_type')} {row.get('id')}: {row.get('detail')}")
    _thresholds(summary)
    echo(f"  findings: {summary.findings_path}")


def print_mapping_summary(summary: MappingSummary, *, examples: bool = True) -> None:
    """Console summary of a mapping validation: the attributes checked, counts, examples, path."""
    from recon.validate.rules import MAPPING_KINDS

    echo(
        f"validate mapping {summary.source} -> {summary.target}, cycle {summary.cycle}: "
        f"{len(summary.attributes)} attributes, {summary.total} finding{'s' if summary.total != 1 else ''}"
    )
    for row in summary.attributes:
        echo(
            f"  {row['role']:<7} {row['attribute']}: {row['source_path']} (populated "
            f"{row['source_populated']}) -> {row['target_path']} (populated {row['target_populated']})"
        )
    _counts(summary.by_kind, summary.by_severity, MAPPING_KINDS)
    if examples:
        for kind in MAPPING_KINDS:
            rows = summary.examples.get(kind, ())
            if rows:
                echo(f"  {kind} (first {len(rows)} of {summary.by_kind.get(kind, 0)}):")
                for row in rows:
                    echo(f"    - {row.get('detail')}")
    _thresholds(summary)
    echo(f"  findings: {summary.findings_path}")


def _counts(by_kind: Mapping[str, int], by_severity: Mapping[str, int], kinds: tuple[str, ...]) -> None:
    from recon.validate.rules import SEVERITIES

    echo("  by severity: " + " · ".join(f"{s} {by_severity.get(s, 0)}" for s in SEVERITIES))
    width = max(len(kind) for kind in kinds)
    for kind in kinds:
        if by_kind.get(kind):
            echo(f"  {kind:<{width}} {by_kind[kind]:>8}")


def _thresholds(summary: ValidationSummary | MappingSummary) -> None:
    for result in summary.thresholds:
        state = "EXCEEDED" if result.exceeded else "ok"
        echo(f"  threshold {result.kind}: {result.count} (limit {result.limit}) {state}")
