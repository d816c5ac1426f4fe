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
from recon.store import Store

__all__ = [
    "ConfigOpt",
    "DataDirOpt",
    "JsonOpt",
    "echo",
    "emit_json",
    "open_config",
    "open_store",
    "state",
    "warn",
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


def open_store(data_dir: Path | None) -> Store:
    """The store at ``--data-dir`` (or ``$RECON_DATA_DIR``, or ``./data``)."""
    return Store(data_dir)


def open_config(path: Path | None) -> Config:
    """recon.toml from ``--config`` or the working folder (empty when absent)."""
    return load_config(path)


def echo(text: str = "") -> None:
    """Print a line for people (stdout)."""
    typer.echo(text)


def warn(text: str) -> None:
    """Print a warning line on stderr (so ``--json`` stdout stays parseable)."""
    typer.echo(f"recon: warning: {text}", err=True)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n")
