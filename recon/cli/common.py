"""Options and output helpers shared by every command module."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from recon.config import Config, load_config
from recon.safe_text import one_line
from recon.store import Store

__all__ = [
    "ConfigOpt",
    "DataDirOpt",
    "EngineOpt",
    "JsonOpt",
    "MemoryLimitOpt",
    "echo",
    "emit_json",
    "open_config",
    "open_store",
    "state",
    "warn",
    "warn_plain_http",
    "warn_schema_findings",
]


@dataclass
class _State:
    debug: bool = False


state = _State(debug=bool(os.environ.get("RECON_DEBUG")))

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="RECON_DATA_DIR",
        help="Data folder (CONTRACT layout). Default ./data.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", help="recon.toml to read. Default ./recon.toml when present.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="duckdb (embedded) or spark ([engine] in recon.toml says where); default [engine], else duckdb.",
        show_default=False,
    ),
]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Peak memory (RSS) of the whole process, e.g. 4GB; DuckDB gets a share and spills beyond it.",
    ),
]


def open_store(data_dir: Path | None) -> Store:
    """The store at ``--data-dir`` (or ``$RECON_DATA_DIR``, or ``./data``)."""
    return Store(data_dir)


def open_config(path: Path | None) -> Config:
    """recon.toml from ``--config`` or the working folder (empty when absent)."""
    return load_config(path)


def echo(text: str = "") -> None:
    """Print a line for people (stdout); control characters from data (ANSI escapes, ``\\r``) are escaped."""
    typer.echo("\n".join(one_line(line, 100_000) for line in text.split("\n")))


def warn(text: str) -> None:
    """Print a warning line on stderr (so ``--json`` stdout stays parseable)."""
    typer.echo(f"recon: warning: {one_line(text)}", err=True)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n")


def warn_plain_http(base_url: str | None) -> None:
    """Warn when the bearer token would travel unencrypted (plain http to a host not this one)."""
    if not base_url:
        return
    import httpx

    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        return  # the client refuses it with its own message
    if url.scheme == "http" and url.host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"{url.host} is reached over plain http: the bearer token travels unencrypted")


def warn_schema_findings(store: Store, exports: list[tuple[str, str]]) -> None:
    """One warning line per export (system, cycle) that ``recon validate`` found schema findings in:
    renamed attributes, case collisions and the like can distort reconcile and deltas results."""
    from recon.validate import schema_findings_count  # only when a command reads exports

    for system, cycle in dict.fromkeys(exports):
        count = schema_findings_count(store, system, cycle)
        if count:
            noun = "schema finding" if count == 1 else "schema findings"
            warn(
                f"the export of {system} at cycle {cycle} has {count:,} {noun} "
                f"that could distort these results (recon validate --system {system} --cycle {cycle})"
            )
