"""``recon demo``: the embedded default — every stage on a simulated directory, no network, no config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import JsonOpt, echo, emit_json

if TYPE_CHECKING:
    from recon.demo import DemoResult, Stage

DEFAULT_DEMO_DIR = Path("data") / "demo"


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo_command)


def demo_command(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder for the demo's data (empty, or a previous demo's). Default ./data/demo.",
            show_default=False,
        ),
    ] = None,
    users: Annotated[int, typer.Option("--users", help="Simulated IdP users.")] = 5000,
    cycles: Annotated[int, typer.Option("--cycles", help="Sync cycles.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Simulation seed (same seed, same data).")] = 2026,
    idp: Annotated[
        str,
        typer.Option(
            "--idp",
            help="scim, okta or entra: also serve the IdP as Okta API or Microsoft Graph pages and "
            "extract it.",
        ),
    ] = "scim",
    as_json: JsonOpt = False,
) -> None:
    """Simulate an IdP and two apps drifting over sync cycles, run every recon stage on them, check
    the findings against the simulator's truth, and write the HTML report."""
    from recon.demo import run_demo

    root = data_dir if data_dir is not None else _default_dir()
    result = run_demo(
        root, users=users, cycles=cycles, seed=seed, on_stage=None if as_json else _print_stage, idp=idp
    )
    if as_json:
        emit_json(_as_json(result))
    else:
        _print_end(result)
    if not result.ok:
        raise typer.Exit(1)


def _default_dir() -> Path:
    # RECON_DATA_DIR names the user's real data folder: the demo goes beside it, never into it.
    env = os.environ.get("RECON_DATA_DIR")
    return Path(env) / "demo" if env else DEFAULT_DEMO_DIR


def _print_stage(stage: Stage) -> None:
    mark = "" if stage.ok else "  << NOT AS EXPECTED"
    echo(f"== {stage.name} ({stage.seconds:.1f} s){mark}")
    for line in stage.lines:
        echo(f"   {line}")


def _print_end(result: DemoResult) -> None:
    echo()
    echo(f"demo finished in {result.seconds:.1f} s; data in {result.data_dir}")
    if result.report is not None:
        echo(f"open the report: {result.report}")
    echo(f"next: recon history --data-dir {result.data_dir}   |   jupyter lab notebooks/")


def _as_json(result: DemoResult) -> dict[str, object]:
    return {
        "data_dir": str(result.data_dir),
        "ok": result.ok,
        "seconds": round(result.seconds, 3),
        "report": str(result.report) if result.report else None,
        "truth_checks": {k: {"equal": e, "runs": n} for k, (e, n) in result.truth_checks.items()},
        "stages": [
            {"name": s.name, "ok": s.ok, "seconds": round(s.seconds, 3), "lines": list(s.lines)}
            for s in result.stages
        ],
    }
