"""``recon simulate``: a simulated IdP and downstream apps over sync cycles, with ground truth."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recon.cli.common import JsonOpt, echo, emit_json
from recon.errors import UsageError

if TYPE_CHECKING:
    from recon.simulate import SimulationSummary


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the app."""
    app.command("simulate")(simulate_command)


def _rates(values: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep:
            raise UsageError(f"--rate {value!r}: use NAME=VALUE, e.g. mover_not_applied=0.2")
        try:
            rates[name.strip()] = float(number)
        except ValueError as exc:
            raise UsageError(f"--rate {value!r}: {number!r} is not a number") from exc
    return rates


def simulate_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write (empty, or a previous simulation with --force).")
    ],
    users: Annotated[int, typer.Option("--users", help="Users at the IdP at the first cycle.")] = 1000,
    groups: Annotated[
        int | None,
        typer.Option("--groups", help="Groups at the first cycle (default: users/50, 16 to 20,000)."),
    ] = None,
    cycles: Annotated[int, typer.Option("--cycles", help="Sync cycles, one a day.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 1,
    profile: Annotated[
        str, typer.Option("--profile", help="clean, typical (= default) or hostile.")
    ] = "typical",
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (exports/) or scim-json (ListResponse pages).")
    ] = "parquet",
    targets: Annotated[
        str, typer.Option("--targets", help="Downstream apps: slack, github, jira.")
    ] = "slack,github",
    rate: Annotated[
        list[str] | None,
        typer.Option("--rate", help="Override a fault rate of the profile: NAME=VALUE (repeatable)."),
    ] = None,
    schema_faults: Annotated[
        float,
        typer.Option(
            "--schema-faults",
            metavar="RATE",
            help="Share of IdP users (0 to 1) written with one schema fault; truth in truth/schema/.",
        ),
    ] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Replace a previous simulation in --out.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Simulate an IdP and downstream apps over sync cycles; write their exports and the exact truth."""
    from recon.simulate import FORMATS, simulate

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use {' or '.join(FORMATS)}")
    names = tuple(name.strip() for name in targets.split(",") if name.strip())
    summary = simulate(
        out,
        users=users,
        groups=groups,
        cycles=cycles,
        seed=seed,
        profile=profile,
        targets=names,
        fmt=fmt,
        rates=_rates(rate or []),
        schema_faults=schema_faults,
        force=force,
    )
    if as_json:
        emit_json(summary.to_json())
        return
    _print(summary)


def _counts(counts: Mapping[str, int]) -> str:
    return " · ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"


def _print(summary: SimulationSummary) -> None:
    from recon.store import Store

    out = summary.out
    store = Store(out)
    echo(
        f"simulated {summary.source} -> {', '.join(summary.targets)}: {summary.initial_users} users "
        f"({summary.users} at the last cycle), {summary.groups} groups, {len(summary.cycles)} cycles "
        f"(profile {summary.profile}, seed {summary.seed}) in {summary.seconds:.1f} s"
    )
    where = store.exports_root if summary.format == "parquet" else store.scim_root
    echo(
        f"  exports: {where}"
        + ("" if summary.format == "parquet" else f" (import list: {where / 'imports.json'})")
    )
    echo(f"  truth:   {store.truth_root} (findings, delta findings, leavers, simulation.json)")
    echo(f"  config:  {out / 'recon.toml'}")
    last = summary.cycles[-1]
    echo(f"  expected findings at the last cycle {last} ({summary.findings_total} over all cycles):")
    for target, kinds in summary.findings.items():
        echo(f"    {target}: {sum(kinds.values())} — {_counts(kinds)}")
    if len(summary.cycles) > 1:
        deltas = len(summary.cycles) - 1
        echo(f"  expected delta findings over {deltas} delta(s): {_counts(summary.delta_findings)}")
    echo(f"  leavers tracked: {summary.leavers} (leaver, target) rows")
    echo(f"  equivalence traps (must not be findings): {_counts(summary.traps)}")
    if summary.schema_faults is not None:
        echo(
            f"  schema faults in the IdP export at {last}: {_counts(summary.schema_faults)} "
            f"(expected recon validate findings: {store.truth_root / 'schema'})"
        )
