"""``--schema-faults``: recon validate finds exactly truth/schema; reconcile and deltas still equal truth."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from recon.cli import main
from recon.config import load_config
from recon.deltas import deltas
from recon.reconcile import reconcile
from recon.simulate import simulate
from recon.store import Store

ARGS = {"users": 120, "groups": 12, "cycles": 3, "seed": 11, "profile": "typical", "targets": ("slack",)}
RATE = 0.2
SCHEMA_KEY = ["kind", "severity", "resource_type", "id", "attribute"]
FINDING_KEY = ["kind", "severity", "source_id", "target_id", "group_id", "target_group_id", "attribute"]
DELTA_KEY = ["kind", "resource_type", "id", "name", "base_last_modified", "head_last_modified"]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faulty") / "sim"
    simulate(out, schema_faults=RATE, **ARGS)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plain") / "sim"
    simulate(out, **ARGS)  # type: ignore[arg-type]
    return out


def _rows(path: Path, key: list[str]) -> list[tuple[object, ...]]:
    return sorted(pl.read_parquet(path).select(key).iter_rows(), key=repr)


def _truth_schema(out: Path, cycle: str) -> Path:
    return out / "truth" / "schema" / "system=idp" / f"cycle={cycle}" / "schema_findings.parquet"


def _cycles(out: Path) -> list[str]:
    return [c["id"] for c in json.loads((out / "truth" / "simulation.json").read_text())["cycles"]]


def _users(out: Path, cycle: str, kind: str = "full") -> dict[str, dict[str, object]]:
    path = out / "exports" / "system=idp" / f"cycle={cycle}" / f"kind={kind}" / "users.parquet"
    return {row["id"]: json.loads(row["raw"]) for row in pl.read_parquet(path).iter_rows(named=True)}


def test_recon_validate_finds_exactly_the_truth_at_every_cycle(faulty: Path) -> None:
    kinds: set[str] = set()
    for cycle in _cycles(faulty):
        command = ["validate", "--system", "idp", "--cycle", cycle, "--data-dir", str(faulty)]
        assert main(command) == 0
        found = faulty / "validation" / "system=idp" / f"cycle={cycle}" / "schema_findings.parquet"
        truth = _rows(_truth_schema(faulty, cycle), SCHEMA_KEY)
        assert _rows(found, SCHEMA_KEY) == truth, cycle
        kinds |= {row[0] for row in truth}  # type: ignore[misc]
    assert kinds == {"undeclared_attribute", "leaked_attribute", "multiple_primary", "user_name_collision"}


def test_truth_schema_has_the_columns_and_severities_of_recon_validate(faulty: Path) -> None:
    cycle = _cycles(faulty)[0]
    frame = pl.read_parquet(_truth_schema(faulty, cycle))
    assert frame.columns == ["kind", "severity", "resource_type", "id", "attribute", "detail"]
    severities = dict(frame.select("kind", "severity").unique().iter_rows())
    assert severities == {
        "leaked_attribute": "critical",
        "user_name_collision": "high",
        "multiple_primary": "medium",
        "undeclared_attribute": "medium",
    }
    users = _users(faulty, cycle)
    twins = frame.filter(pl.col("kind") == "user_name_collision").height // 2  # 2 rows per collision
    faulted = frame.height - twins
    assert 0.1 * 120 < faulted < 0.3 * 120  # about RATE of the users, one fault each
    for rid, attribute in (
        frame.filter(pl.col("kind") == "leaked_attribute").select("id", "attribute").iter_rows()
    ):
        assert attribute == "password" and "password" in users[rid]


def test_a_user_keeps_its_fault_and_twins_follow_their_original_into_deltas(faulty: Path) -> None:
    cycles = _cycles(faulty)
    per_cycle = [set(_rows(_truth_schema(faulty, c), SCHEMA_KEY)) for c in cycles]
    first, last = _users(faulty, cycles[0]), _users(faulty, cycles[-1])
    for row in per_cycle[0]:
        if (
            row[3] in first
            and row[3] in last
            and first[row[3]].get("userName") == last[row[3]].get("userName")
        ):
            assert row in per_cycle[-1]  # same user, same fault, every cycle
    for cycle in cycles[1:]:
        sent, full = _users(faulty, cycle, "delta"), _users(faulty, cycle)
        twins = [rid for rid in full if rid.endswith("-case")]
        assert twins
        for twin in twins:
            original = twin.removesuffix("-case")
            assert (twin in sent) == (original in sent)
            copy = {k: v for k, v in full[twin].items() if k not in ("id", "userName", "meta")}
            assert copy == {k: v for k, v in full[original].items() if k not in ("id", "userName", "meta")}
            assert full[twin]["userName"] == str(full[original]["userName"]).swapcase()
            assert ENTERPRISE in copy["schemas"]  # type: ignore[operator]


def test_reconcile_and_deltas_still_equal_the_truth_which_counts_the_twins(faulty: Path) -> None:
    store, config = Store(faulty), load_config(faulty / "recon.toml")
    twin_findings = 0
    for truth in sorted((faulty / "truth" / "findings").glob("source=idp/target=*/cycle=*/findings.parquet")):
        target, cycle = (part.split("=", 1)[1] for part in truth.parts[-3:-1])
        summary = reconcile(store, "idp", target, cycle, config)
        expected = _rows(truth, FINDING_KEY)
        assert _rows(summary.findings_path, FINDING_KEY) == expected, (target, cycle)
        twin_findings += sum(1 for row in expected if str(row[2]).endswith("-case"))
    assert twin_findings > 0  # the twins are IdP accounts the target never got
    heads = store.cycles("idp", "delta")
    assert len(heads) == 2
    for head in heads:
        checked = deltas(store, "idp", head=head)
        truth = faulty / "truth" / "deltas" / "system=idp" / f"head={head}" / "delta_findings.parquet"
        assert _rows(checked.findings_path, DELTA_KEY) == _rows(truth, DELTA_KEY), head


def test_faults_touch_only_the_idp_and_rate_zero_writes_no_schema_truth(faulty: Path, plain: Path) -> None:
    assert not (plain / "truth" / "schema").exists()
    assert "schema_faults" not in json.loads((plain / "truth" / "simulation.json").read_text())
    recorded = json.loads((faulty / "truth" / "simulation.json").read_text())["schema_faults"]
    assert recorded["rate"] == RATE and set(recorded["users_by_cycle"]) == set(_cycles(faulty))
    for path in sorted((plain / "exports" / "system=slack").rglob("*.parquet")):
        assert path.read_bytes() == (faulty / path.relative_to(plain)).read_bytes()
    cycle = _cycles(plain)[0]
    clean, faulted = _users(plain, cycle), _users(faulty, cycle)
    assert clean.keys() < faulted.keys()
    assert sum(1 for rid in clean if clean[rid] != faulted[rid]) > 0


def test_same_seed_same_schema_truth_and_a_bad_rate_is_refused(
    faulty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again"
    command = ["simulate", "--out", str(again), "--users", "120", "--groups", "12", "--cycles", "3"]
    command += ["--seed", "11", "--targets", "slack", "--schema-faults", str(RATE), "--json"]
    assert main(command) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["schema_faults"].values()) > 0
    for path in sorted((faulty / "truth" / "schema").rglob("*.parquet")):
        assert path.read_bytes() == (again / path.relative_to(faulty)).read_bytes()
    bad = ["simulate", "--out", str(tmp_path / "bad"), "--users", "20", "--schema-faults", "1.5"]
    assert main(bad) == 2
    assert "--schema-faults 1.5" in capsys.readouterr().err
