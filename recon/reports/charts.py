"""Altair charts of a :class:`~recon.reports.history.HistorySummary`, shared by the report and the notebooks.

Every builder takes frames recon computed and only draws them (no queries here). Charts render
offline: in a notebook enable the ``svg`` or ``png`` renderer (vl-convert); :func:`to_svg`
turns a chart into standalone SVG text for the HTML report.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, cast

import altair as alt
import polars as pl
import vl_convert as vlc

from recon.findings import FINDING_KINDS, SEVERITIES
from recon.reports.history import HistorySummary

__all__ = [
    "completeness",
    "drift_age",
    "drift_trend",
    "latency_distribution",
    "missed_by_cause",
    "probe_status",
    "severity_colours",
    "to_svg",
]

_WIDTH = 560
_SEVERITY_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0"]
_ARROW = " → "


def _count_axis(top: object) -> alt.Axis:
    """Whole-number ticks for a count axis going up to ``top`` (Vega would draw 0.5 steps)."""
    top_value = max(1, int(top) if isinstance(top, int | float) else 0)
    step = max(1, -(-top_value // 5))
    return alt.Axis(values=list(range(0, top_value + step, step)), format="d")


def _pair(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns((pl.col("source") + _ARROW + pl.col("target")).alias("pair"))


def _kind_colour() -> alt.Color:
    return alt.Color("kind:N", title="finding kind", scale=alt.Scale(domain=list(FINDING_KINDS)))


def drift_trend(summary: HistorySummary) -> alt.FacetChart:
    """Findings per kind per cycle, stacked, one panel per system pair."""
    data = _pair(summary.counts).group_by("pair", "cycle", "kind").agg(pl.col("findings").sum())
    top = summary.cycles["findings"].max()
    cycles = sorted(summary.cycles["cycle"].unique().to_list())
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "cycle:O",
                title="sync cycle",
                sort=cycles,
                scale=alt.Scale(domain=cycles),
                axis=alt.Axis(labelAngle=-40),
            ),
            y=alt.Y("sum(findings):Q", title="findings", stack="zero", axis=_count_axis(top)),
            color=_kind_colour(),
            tooltip=["pair", "cycle", "kind", "findings"],
        )
        .properties(width=_WIDTH, height=180)
        .facet(row=alt.Row("pair:N", title=None, header=alt.Header(labelFontSize=13, labelFontWeight="bold")))
        .properties(title="Findings per kind per sync cycle")
    )
    return cast(alt.FacetChart, chart)


def drift_age(summary: HistorySummary) -> alt.FacetChart:
    """Open findings at each pair's latest cycle by age (consecutive cycles seen), stacked by kind."""
    data = _pair(summary.open_drift).group_by("pair", "age", "kind").agg(pl.len().alias("findings"))
    top = _pair(summary.open_drift).group_by("pair", "age").len()["len"].max()
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("age:O", title="open for (consecutive cycles)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(findings):Q", title="open findings", axis=_count_axis(top)),
            color=_kind_colour(),
            tooltip=["pair", "age", "kind", "findings"],
        )
        .properties(width=260, height=180)
        .facet(column=alt.Column("pair:N", title=None, header=alt.Header(labelFontSize=13)))
        .properties(title="Open drift at the latest cycle, by age")
    )
    return cast(alt.FacetChart, chart)


def latency_distribution(summary: HistorySummary) -> alt.Chart:
    """Leavers per deprovisioning latency (cycles) and target; still-open leavers in their own bar."""
    leavers = summary.leavers
    data = (
        _pair(leavers)
        .with_columns(
            pl.when(pl.col("still_open"))
            .then(pl.lit("still open"))
            .otherwise(pl.col("latency_cycles").cast(pl.String))
            .alias("latency")
        )
        .group_by("pair", "latency")
        .agg(pl.len().alias("leavers"))
    )
    top = data["leavers"].max()
    resolved = sorted({int(v) for v in leavers["latency_cycles"].drop_nulls().to_list()})
    order = [str(v) for v in resolved] + ["still open"]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "latency:O",
                title="cycles from source active=false to target deactivation",
                sort=order,
                scale=alt.Scale(domain=order),
                axis=alt.Axis(labelAngle=0),
            ),
            xOffset=alt.XOffset("pair:N"),
            y=alt.Y("leavers:Q", title="leavers", axis=_count_axis(top)),
            color=alt.Color("pair:N", title="system pair"),
            tooltip=["pair", "latency", "leavers"],
        )
        .properties(width=_WIDTH, height=220, title="Deprovisioning latency per target")
    )
    return cast(alt.Chart, chart)


def completeness(summary: HistorySummary) -> alt.LayerChart:
    """Delta filter completeness (0..1) per system over head cycles."""
    data = summary.completeness.select("system", "head", "base", "completeness")
    base = alt.Chart(data).encode(
        x=alt.X("head:O", title="delta head cycle", axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("completeness:Q", title="completeness (returned / changed)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("system:N", title="system"),
        tooltip=["system", "base", "head", "completeness"],
    )
    chart = (base.mark_line() + base.mark_point(filled=True, size=60)).properties(
        width=_WIDTH, height=200, title="Delta filter completeness per cycle"
    )
    return cast(alt.LayerChart, chart)


def missed_by_cause(summary: HistorySummary) -> alt.Chart:
    """Changes and creations the deltas missed, per head cycle, stacked by likely cause."""
    data = summary.missed.group_by("system", "head", "cause").agg(pl.col("missed").sum())
    top = data.group_by("system", "head").agg(pl.col("missed").sum())["missed"].max()
    heads = sorted(summary.completeness["head"].unique().to_list())
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "head:O",
                title="delta head cycle",
                sort=heads,
                scale=alt.Scale(domain=heads),
                axis=alt.Axis(labelAngle=-40),
            ),
            y=alt.Y("sum(missed):Q", title="missed changes", axis=_count_axis(top)),
            color=alt.Color("cause:N", title="likely cause"),
            tooltip=["system", "head", "cause", "missed"],
        )
        .properties(width=_WIDTH, height=200, title="Missed changes by cause")
    )
    return cast(alt.Chart, chart)


def probe_status(probes: pl.DataFrame) -> alt.Chart:
    """Probe outcomes per system (``exact`` = the server answered the filter correctly)."""
    data = probes.group_by("system", "status").agg(pl.len().alias("probes"))
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("system:N", title="system"),
            x=alt.X("probes:Q", title="probes", stack="zero"),
            color=alt.Color("status:N", title="observed status"),
            tooltip=["system", "status", "probes"],
        )
        .properties(width=_WIDTH, height=120, title="Observed behaviour: filter and paging probes")
    )
    return cast(alt.Chart, chart)


def severity_colours() -> dict[str, str]:
    """Colour per severity used in report tables."""
    return dict(zip(SEVERITIES, _SEVERITY_COLOURS, strict=True))


_counter = itertools.count(1)
_ID = re.compile(r'\bid="([^"]+)"')


def to_svg(chart: Any) -> str:
    """Standalone SVG text of ``chart`` (vl-convert, offline); element ids made unique per call
    so several SVGs can be inlined in one HTML page without clip paths clashing."""
    styled = (
        chart.configure_axis(labelFontSize=12, titleFontSize=13)
        .configure_legend(labelFontSize=12, titleFontSize=13)
        .configure_title(fontSize=15)
    )
    svg = str(vlc.vegalite_to_svg(styled.to_dict()))
    prefix = f"c{next(_counter)}-"
    for name in set(_ID.findall(svg)):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"')
        svg = svg.replace(f"url(#{name})", f"url(#{prefix}{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}{name}"')
    return svg
