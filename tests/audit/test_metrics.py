"""The metrics file, parsed back with prometheus_client's parsers, equals the findings on disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from recon.audit.metrics import METRICS
from recon.cli import main
from recon.reports.history import DELTA_KINDS, FINDING_KINDS, SEVERITIES
from recon.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def _config(root: Path, extra: str) -> Path:
    path = root.parent / "audit.toml"
    path.write_text((root / "recon.toml").read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


def test_audit_metrics_equal_the_findings_files(sim_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prom = sim_copy.parent / "textfile" / "recon.prom"
    config = _config(
        sim_copy,
        "[thresholds]\ndelayed_deactivation = 0\nmissing_in_target = 1000\n\n"
        f'[metrics]\ntextfile = "{prom}"\n',
    )
    code = main(["audit", "--data-dir", str(sim_copy), "--config", str(config), "--json"])
    result = json.loads(capsys.readouterr().out)
    store = Store(sim_copy)
    cycle = result["cycle"]
    assert cycle == store.cycles("idp")[-1], "without live systems the audit takes the latest common cycle"
    assert result["metrics"] == str(prom)
    samples = _samples(prom.read_text(encoding="utf-8"))

    breached = []
    for target in ("slack", "github"):
        findings = pl.read_parquet(store.findings_dir("idp", target, cycle) / "findings.parquet")
        counts = {
            (row["kind"], row["severity"]): row["len"]
            for row in findings.group_by("kind", "severity").len().iter_rows(named=True)
        }
        got = {
            (labels["kind"], labels["severity"]): value
            for labels, value in samples["recon_findings"]
            if labels["source"] == "idp" and labels["target"] == target
        }
        assert set(got) == {(k, s) for k in FINDING_KINDS for s in SEVERITIES}
        assert {key: value for key, value in got.items() if value} == counts
        assert ({"source": "idp", "target": target}, 1.0) in samples["recon_pair_audited"]
        late = findings.filter(pl.col("kind") == "delayed_deactivation").height
        if late:
            breached.append((target, late))
        # no user name, id or cycle id in any label
        text = prom.read_text(encoding="utf-8")
        for name in findings["user_name"].drop_nulls().unique().to_list()[:50]:
            assert f'"{name}"' not in text
    assert breached, "the simulation plants delayed deactivations"
    exceeded = {
        (labels["target"], labels["kind"]): value for labels, value in samples["recon_threshold_excess"]
    }
    assert exceeded == {(target, "delayed_deactivation"): float(late) for target, late in breached}
    assert code == 1 and len(result["breaches"]) == len(breached)

    delta = json.loads((store.deltas_dir("idp", cycle) / "summary.json").read_text(encoding="utf-8"))
    completeness = pytest.approx(delta["completeness"])
    assert samples["recon_delta_completeness_ratio"] == [({"system": "idp"}, completeness)]
    delta_counts = {labels["kind"]: value for labels, value in samples["recon_delta_findings"]}
    assert delta_counts == {kind: float(delta["counts"].get(kind, 0)) for kind in DELTA_KINDS}

    for system in ("idp", "slack", "github"):
        rows = store.export(system, cycle).manifest().rows
        got_rows = {
            labels["resource"]: value
            for labels, value in samples["recon_export_resources"]
            if labels["system"] == system and labels["kind"] == "full"
        }
        assert got_rows == {table: float(count) for table, count in rows.items()}
        complete = {"system": system, "kind": "full", "status": "complete"}
        assert (complete, 1.0) in samples["recon_export_status"]
    assert samples["recon_audit_success"] == [({}, 1.0)]
    assert samples["recon_audit_pairs_not_audited"] == [({}, 0.0)]
    for labels_list in samples.values():
        for labels, _ in labels_list:
            for value in labels.values():
                assert re.fullmatch(r"[A-Za-z0-9_.\- >]{0,64}", value), value

    # recon history --metrics writes the same drift figures from the same files
    again = sim_copy.parent / "history.prom"
    args = ["history", "--data-dir", str(sim_copy), "--config", str(config), "--metrics", str(again)]
    assert main(args) == 0
    capsys.readouterr()
    from_history = _samples(again.read_text(encoding="utf-8"))
    assert sorted(from_history["recon_findings"], key=repr) == sorted(samples["recon_findings"], key=repr)
    assert sorted(from_history["recon_threshold_excess"], key=repr) == sorted(
        samples["recon_threshold_excess"], key=repr
    )
    assert "recon_pair_audited" not in from_history, "only an audit knows what it could not audit"


def test_openmetrics_format_parses_with_the_openmetrics_parser(
    sim_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

    config = _config(sim_copy, '[metrics]\nformat = "openmetrics"\n')
    only = ["--only", "reconcile,history,metrics"]
    code = main(["audit", "--data-dir", str(sim_copy), "--config", str(config), *only])
    capsys.readouterr()
    assert code == 0
    text = Store(sim_copy).metrics_path.read_text(encoding="utf-8")
    assert text.endswith("# EOF\n")
    names = {family.name for family in openmetrics(text)}
    assert {"recon_findings", "recon_leavers_still_active", "recon_export_status"} <= names


def test_every_metric_is_documented_and_named_by_convention() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(recon_[a-z0-9_]+)` \|", doc, flags=re.MULTILINE))
    assert documented == {spec.name for spec in METRICS}
    for spec in METRICS:
        assert not spec.name.endswith("_total"), "gauges never end in _total"
        if "seconds" in spec.name:
            assert spec.name.endswith("_seconds")
        for label in spec.labels:
            assert f"`{label}`" in doc


def test_a_refused_push_is_a_failed_stage_the_textfile_is_still_written(
    sim_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audit.receiver import receiver

    with receiver() as gateway:
        gateway.status = 500
        config = _config(sim_copy, f'[metrics]\npush_url = "{gateway.url}/prefix"\n')
        only = ["--only", "reconcile,history,metrics", "--json"]
        code = main(["audit", "--data-dir", str(sim_copy), "--config", str(config), *only])
        assert [(r.method, r.path) for r in gateway.requests] == [("PUT", "/prefix/metrics/job/recon")]
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    runs = {(run["stage"], run["subject"]): run for run in result["stages"]}
    assert runs[("metrics", "textfile")]["status"] == "ok"
    assert runs[("metrics", "pushgateway")]["status"] == "failed"
    assert runs[("metrics", "pushgateway")]["headline"] == (
        "pushing metrics to the Pushgateway at 127.0.0.1 failed (500)"
    )
    assert Store(sim_copy).metrics_path.is_file()


def test_probe_deviations_and_a_partial_export(sim_copy: Path) -> None:
    from recon.audit.metrics import collect, render
    from recon.store import atomic_write_json

    store = Store(sim_copy)
    statuses = ["exact", "exact", "missing", "extra", "rejected", "exact"]
    probes = pl.DataFrame(
        {
            "probe": [f"p{i}" for i in range(len(statuses))],
            "filter": ['userName eq "x"'] * len(statuses),
            "status": statuses,
            "detail": [None] * len(statuses),
        },
        schema={"probe": pl.String, "filter": pl.String, "status": pl.String, "detail": pl.String},
    )
    store.capabilities_dir("slack").mkdir(parents=True)
    probes.write_parquet(store.capabilities_dir("slack") / "probe.parquet")
    latest = store.export("github", store.cycles("github")[-1])
    manifest = latest.manifest()
    manifest.status = "partial"
    atomic_write_json(latest.manifest_path, manifest.to_json())

    samples = _samples(render(collect(store, None, thresholds={}, breaches=[])).decode("utf-8"))
    probe_counts = {labels["status"]: value for labels, value in samples["recon_filter_probes"]}
    assert probe_counts == {
        "exact": 3.0,
        "missing": 1.0,
        "extra": 1.0,
        "missing_and_extra": 0.0,
        "ignored": 0.0,
        "rejected": 1.0,
        "error": 0.0,
    }
    assert samples["recon_filter_probe_deviations"] == [({"system": "slack"}, 3.0)]
    github = {
        labels["status"]: value
        for labels, value in samples["recon_export_status"]
        if labels["system"] == "github" and labels["kind"] == "full"
    }
    assert github == {"complete": 0.0, "partial": 1.0, "failed": 0.0}
    assert "recon_findings" not in samples, "no history given: no findings metrics"
