"""``recon probe``: filter and paging conformance of a live SCIM server."""

from __future__ import annotations

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
    warn_plain_http,
)

if TYPE_CHECKING:
    from recon.probe import ProbeSummary


def register(app: typer.Typer) -> None:
    """Add ``probe`` to the app."""
    app.command("probe")(probe_command)


def probe_command(
    system: Annotated[str, typer.Option("--system", help="System name from recon.toml.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a battery of filters and paging requests; compare each answer with the latest full export."""
    from recon.probe import probe
    from recon.scim.client import ScimClient

    store = open_store(data_dir)
    system_config = open_config(config).system(system)
    warn_plain_http(system_config.base_url)
    with ScimClient.from_config(system_config) as client:
        summary = probe(store, system, client, page_size=system_config.page_size)
    if as_json:
        emit_json(summary.to_json())
    else:
        print_summary(summary)


def print_summary(summary: ProbeSummary) -> None:
    """One line per probe, then the capability matrix (advertised vs observed)."""
    echo(f"probe {summary.system}: compared with the full export of cycle {summary.export_cycle}")
    width = max(len(str(row["probe"])) for row in summary.rows)
    for row in summary.rows:
        status = str(row["status"])
        if status in ("missing", "extra"):
            status = f"{status} {row[f'{status}_count']}"
        elif status == "missing_and_extra":
            status = f"missing {row['missing_count']}, extra {row['extra_count']}"
        elif status == "rejected":
            status = f"rejected ({row['http_status']}, {row['scim_type'] or '-'})"
        echo(f"  {row['probe']:<{width}}  {status:<30} {row['filter'] or ''}")
    echo("capability matrix (advertised | observed):")
    for capability, advertised, observed in summary.matrix:
        echo(f"  {capability:<24} {advertised:<28} | {observed}")
    echo(f"  probe.parquet: {summary.probe_path}")
    echo(f"  capabilities:  {summary.capabilities_path}")
