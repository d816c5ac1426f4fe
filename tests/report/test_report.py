"""The HTML report: self-contained, offline, charts drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from recon.capabilities import Capabilities, save_capabilities
from recon.cli import main
from recon.reports import history, write_report
from recon.store import Store
from report.chromium import chromium_or_skip, render
from report.png import pixels_of, read_png

# Vega's default categorical scheme (tableau10): the first two finding kinds / pairs.
VEGA_BLUE, VEGA_ORANGE = (76, 120, 168), (245, 133, 24)


@pytest.fixture(scope="module")
def report(scenario_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(scenario_store, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_one_self_contained_file(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", text, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", text, re.I)
    svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
    assert len(svgs) == 5  # trend, age, latency, completeness, missed by cause
    for svg in svgs:
        assert re.search(r'<path[^>]+d="M', svg), "an SVG without drawn paths"
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "element ids clash between inlined charts"


def test_report_states_the_verdicts_and_top_findings(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "2 leavers still active in slack, oldest 3 cycles" in text
    assert "idp → slack: top 4 of 4 open findings" in text
    assert "gina@example.com" in text and "carol@example.com" in text
    assert "department: Sales → Ops" in text
    assert "dave@example.com in engineering" in text  # a membership finding names user and group
    assert "No capabilities recorded; run recon discover/probe." in text
    assert "idp delta exports: completeness 0.75 at the latest cycle" in text


def test_report_escapes_data(tmp_path: Path, scenario_store: Store) -> None:
    summary = history(scenario_store)
    hostile = summary.open_drift.with_columns(pl.lit("<img src=x onerror=alert(1)>").alias("detail"))
    object.__setattr__(summary, "open_drift", hostile)
    text = write_report(scenario_store, tmp_path / "r.html", summary=summary).read_text()
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_capabilities_section(tmp_path: Path, scenario_store: Store) -> None:
    store = Store(tmp_path / "data")
    import shutil

    shutil.copytree(scenario_store.root, store.root)
    caps = Capabilities(system="slack", advertised={"filter": {"supported": True, "maxResults": 200}})
    caps.observe("page_size_cap", 1000, by="probe")
    save_capabilities(store, caps)
    pl.DataFrame(
        {
            "probe": ["userName_eq", "active_eq_false"],
            "filter": ['userName eq "a"', "active eq false"],
            "status": ["exact", "missing"],
            "detail": ["", "2 missing"],
        }
    ).write_parquet(store.capabilities_dir("slack") / "probe.parquet")
    text = write_report(store, tmp_path / "r.html").read_text()
    assert "No capabilities recorded" not in text
    assert "Observed behaviour: filter and paging probes" in text
    assert "<td>page_size_cap</td><td></td><td>1000</td><td>probe</td>" in text
    assert "<td>filter maxResults</td><td>200</td>" in text


def test_report_cli(scenario_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x" / "report.html"
    assert main(["report", "--data-dir", str(scenario_store.root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"report: {out}")
    assert out.is_file()
    assert main(["report", "--data-dir", str(scenario_store.root), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["report"] == str(out)
    assert main(["report", "--data-dir", str(tmp_path / "none")]) == 2


@pytest.mark.slow
def test_report_renders_offline_in_headless_chromium(simulated_store: Store, tmp_path: Path) -> None:
    browser = chromium_or_skip()
    report = write_report(simulated_store, tmp_path / "report.html")
    rendered = render(browser, report, tmp_path)
    assert rendered.page_requests == []
    width, height, bpp, rows = read_png(rendered.screenshot)
    assert (width, height) == (1280, 2400)
    # the charts are drawn: bars in Vega's palette cover real areas of the screenshot
    for colour in (VEGA_BLUE, VEGA_ORANGE):
        assert pixels_of(rows, bpp, colour) > 2000, colour


def test_the_offline_checks_can_fail(tmp_path: Path) -> None:
    """Controls: a page that fetches from the network is caught; a page without charts has no chart pixels."""
    browser = chromium_or_skip()
    page = tmp_path / "online.html"
    page.write_text('<html><body><p>text only</p><img src="http://127.0.0.1:9/x.png"></body></html>')
    rendered = render(browser, page, tmp_path, width=400, height=300)
    assert rendered.page_requests == ["http://127.0.0.1:9/x.png"]
    _, _, bpp, rows = read_png(rendered.screenshot)
    assert pixels_of(rows, bpp, VEGA_BLUE) == 0


def test_report_without_exports_deltas_or_open_findings_says_so(tmp_path: Path) -> None:
    from history import scenario

    store = Store(tmp_path / "data")
    scenario.write_findings(store, "idp", "slack", scenario.C1, [scenario.am_u1()])
    scenario.write_findings(store, "idp", "slack", scenario.C2, [])
    text = write_report(store, tmp_path / "r.html").read_text()
    assert "no open findings at cycle 20260106T020000Z" in text
    assert "No open findings at the latest cycle of any system pair." in text
    assert "No leavers (source users with active=false) in the cycles on disk." in text
    assert "No delta findings recorded; run recon deltas." in text
    assert len(re.findall(r"<svg\b", text)) == 1  # only the trend chart has data to draw
