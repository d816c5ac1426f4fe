"""``recon report``: one self-contained HTML file of the drift history.

The file holds everything it shows: charts as inline SVG (rendered offline by vl-convert),
tables, and inline CSS. It has no script and loads nothing from the network, so it opens the
same in a browser without a connection, in a mail attachment or in an audit archive.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from recon import __version__
from recon.findings import DELTA_KINDS, SEVERITIES
from recon.reports import charts
from recon.reports.history import (
    HistorySummary,
    capabilities_overview,
    history,
    probe_results,
)
from recon.store import Store, atomic_write_bytes

__all__ = ["TOP_FINDINGS", "render_report", "write_report"]

TOP_FINDINGS = 20  # open findings listed per system pair, worst and oldest first

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.meta { color: #59636e; font-size: .9rem; }
.verdicts li { margin: .35rem 0; }
.chart { margin: 1rem 0; overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .6rem 0 1rem; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.wrap { overflow-wrap: anywhere; min-width: 10rem; }
td.detail { min-width: 16rem; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { font-weight: 600; border-radius: 3px; padding: 0 .3rem; }
.note { color: #59636e; font-style: italic; }
"""


def write_report(store: Store, out: Path | None = None, *, summary: HistorySummary | None = None) -> Path:
    """Write the HTML report of everything under ``store`` to ``out`` (default
    ``<data>/report.html``), atomically; returns its path. Raises
    :class:`~recon.errors.DataNotFound` when there are no findings.
    """
    path = Path(out) if out is not None else store.root / "report.html"
    summary = summary if summary is not None else history(store)
    text = render_report(store, summary)
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def render_report(store: Store, summary: HistorySummary) -> str:
    """The report as HTML text."""
    cycles = sorted(summary.cycles["cycle"].unique().to_list())
    generated = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>recon report: directory sync drift</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>recon report: directory sync drift</h1>",
        f'<p class="meta">Data folder {_e(str(store.root))} · {len(cycles)} sync cycles, '
        f"{_e(cycles[0])} to {_e(cycles[-1])} · generated {generated} by recon {__version__}</p>",
        "<h2>Verdict</h2>",
        '<ul class="verdicts">',
        *(f"<li>{_e(text)}</li>" for text in summary.verdicts().values()),
        *(f"<li>{_e(text)}</li>" for text in _delta_verdicts(summary)),
        "</ul>",
        *_drift_section(summary),
        *_latency_section(summary),
        *_completeness_section(summary),
        *_capabilities_section(store),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _chart(chart: Any) -> str:
    return f'<div class="chart">{charts.to_svg(chart)}</div>'


_WRAP = {"user_name", "subject", "difference", "source_id", "target_id"}


def _table(frame: pl.DataFrame, columns: Sequence[tuple[str, str]]) -> str:
    """An HTML table of ``frame``'s columns given as (column, heading)."""
    head = "".join(f"<th>{_e(title)}</th>" for _, title in columns)
    colours = charts.severity_colours()
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for name, _ in columns:
            value = row[name]
            if name == "severity" and value in colours:
                cells.append(
                    f'<td><span class="sev" style="background:{colours[value]}">{_e(value)}</span></td>'
                )
            elif isinstance(value, bool):
                cells.append(f"<td>{'yes' if value else 'no'}</td>")
            elif isinstance(value, int | float):
                shown = f"{value:.2f}" if isinstance(value, float) else str(value)
                cells.append(f'<td class="num">{shown}</td>')
            elif isinstance(value, datetime):
                cells.append(f"<td>{_e(value.strftime('%Y-%m-%d %H:%M'))}</td>")
            elif name == "detail":
                cells.append(f'<td class="detail">{_e(value)}</td>')
            elif name in _WRAP:
                cells.append(f'<td class="wrap">{_e(value)}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _drift_section(summary: HistorySummary) -> list[str]:
    out = ["<h2>Drift per cycle</h2>", _chart(charts.drift_trend(summary))]
    for source, target in summary.pairs:
        rows = summary.cycles.filter((pl.col("source") == source) & (pl.col("target") == target))
        out.append(f"<h3>{_e(source)} → {_e(target)}</h3>")
        out.append(
            _table(
                rows,
                [
                    ("cycle", "cycle"),
                    ("findings", "findings"),
                    *((s, s) for s in SEVERITIES),
                    ("new", "new"),
                    ("persisting", "persisting"),
                    ("resolved", "resolved"),
                    ("max_age", "oldest (cycles)"),
                ],
            )
        )
    out += ["<h2>Open drift</h2>"]
    if summary.open_drift.is_empty():
        out.append('<p class="note">No open findings at the latest cycle of any system pair.</p>')
        return out
    out.append(_chart(charts.drift_age(summary)))
    for source, target in summary.pairs:
        rows = summary.open_drift.filter((pl.col("source") == source) & (pl.col("target") == target))
        shown = min(TOP_FINDINGS, rows.height)
        out.append(f"<h3>{_e(source)} → {_e(target)}: top {shown} of {rows.height} open findings</h3>")
        if rows.is_empty():
            out.append('<p class="note">None.</p>')
            continue
        out.append(
            _table(
                _readable(rows.head(TOP_FINDINGS)),
                [
                    ("severity", "severity"),
                    ("kind", "kind"),
                    ("subject", "user / group"),
                    ("difference", "difference"),
                    ("age", "open (cycles)"),
                    ("first_cycle", "first seen"),
                    ("detail", "detail"),
                ],
            )
        )
    return out


def _readable(findings: pl.DataFrame) -> pl.DataFrame:
    """Open findings with a ``subject`` (user, and group for memberships) and, for attribute
    mismatches, a ``difference`` ("attribute: source value → target value")."""
    subject = pl.concat_str(
        [
            pl.coalesce("user_name", "target_id", "source_id"),
            pl.when(pl.col("group_name").is_not_null() & pl.col("user_name").is_not_null())
            .then(pl.lit(" in ") + pl.col("group_name"))
            .otherwise(pl.lit("")),
        ],
        ignore_nulls=True,
    )
    group_only = pl.col("user_name").is_null() & pl.col("group_name").is_not_null()
    difference = pl.when(pl.col("attribute").is_not_null()).then(
        pl.col("attribute")
        + pl.lit(": ")
        + pl.col("source_value").fill_null("(unassigned)")
        + pl.lit(" → ")
        + pl.col("target_value").fill_null("(unassigned)")
    )
    return findings.with_columns(
        pl.when(group_only).then(pl.col("group_name")).otherwise(subject).alias("subject"),
        difference.alias("difference"),
    )


def _latency_section(summary: HistorySummary) -> list[str]:
    out = [
        "<h2>Deprovisioning latency</h2>",
        '<p class="meta">Cycles from the first source export showing a user <code>active=false</code> '
        "to the first cycle at which the target no longer holds an active account for it "
        "(p50/p95 nearest-rank, over resolved leavers).</p>",
    ]
    if summary.leavers.is_empty():
        out.append('<p class="note">No leavers (source users with active=false) in the cycles on disk.</p>')
        return out
    out.append(_chart(charts.latency_distribution(summary)))
    out.append(
        _table(
            summary.latency,
            [
                ("source", "source"),
                ("target", "target"),
                ("leavers", "leavers"),
                ("resolved", "resolved"),
                ("still_open", "still open"),
                ("p50_cycles", "p50 cycles"),
                ("p95_cycles", "p95 cycles"),
                ("max_cycles", "max cycles"),
                ("p50_hours", "p50 hours"),
                ("p95_hours", "p95 hours"),
                ("max_hours", "max hours"),
                ("oldest_open_cycles", "oldest open (cycles)"),
            ],
        )
    )
    still = summary.still_active()
    out.append(f"<h3>Leavers still active ({still.height})</h3>")
    if still.is_empty():
        out.append('<p class="note">None: every leaver has been deactivated or removed in every target.</p>')
    else:
        out.append(
            _table(
                still,
                [
                    ("target", "target"),
                    ("user_name", "user"),
                    ("source_id", "source id"),
                    ("target_id", "target account"),
                    ("left_cycle", "left (source inactive)"),
                    ("deleted_cycle", "deleted at source"),
                    ("open_cycles", "active for (cycles)"),
                    ("open_hours", "hours"),
                ],
            )
        )
    return out


def _delta_verdicts(summary: HistorySummary) -> list[str]:
    texts = []
    frame = summary.completeness.drop_nulls("completeness")
    for system in sorted(set(frame["system"].to_list())):
        rows = frame.filter(pl.col("system") == system).sort("head")
        worst = rows.sort("completeness", maintain_order=True).row(0, named=True)
        latest = rows.row(-1, named=True)
        missed = int(rows.select(pl.col("missed_change").sum() + pl.col("missed_creation").sum()).item())
        texts.append(
            f"{system} delta exports: completeness {latest['completeness']:.2f} at the latest cycle "
            f"{latest['head']}, lowest {worst['completeness']:.2f} (cycle {worst['head']}); "
            f"{missed} missed change(s) over {rows.height} delta cycle(s)."
        )
    return texts


def _completeness_section(summary: HistorySummary) -> list[str]:
    out = ["<h2>Delta filter completeness</h2>"]
    if summary.completeness.is_empty():
        out.append('<p class="note">No delta findings recorded; run recon deltas.</p>')
        return out
    out.append(_chart(charts.completeness(summary)))
    if not summary.missed.is_empty():
        out.append(_chart(charts.missed_by_cause(summary)))
    out.append(
        _table(
            summary.completeness,
            [
                ("system", "system"),
                ("base", "base"),
                ("head", "head"),
                ("completeness", "completeness"),
                *((kind, kind.replace("_", " ")) for kind in DELTA_KINDS),
            ],
        )
    )
    return out


def _capabilities_section(store: Store) -> list[str]:
    out = ["<h2>Capabilities: advertised and observed</h2>"]
    overview = capabilities_overview(store)
    probes = probe_results(store)
    if overview.is_empty() and probes.is_empty():
        out.append('<p class="note">No capabilities recorded; run recon discover/probe.</p>')
        return out
    if not probes.is_empty():
        out.append(_chart(charts.probe_status(probes)))
    if not overview.is_empty():
        out.append(
            _table(
                overview,
                [
                    ("system", "system"),
                    ("capability", "capability"),
                    ("advertised", "advertised"),
                    ("observed", "observed"),
                    ("observed_by", "observed by"),
                ],
            )
        )
    return out
