"""bulk apply end to end against a real scim2-server (bulk on, maxOperations small; and bulk off)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from scim_server import RICH_SPC, ScimServer, ScimServerFactory

from recon.bulk.apply import apply_plan
from recon.bulk.plan import plan
from recon.bulk.send import HttpSender
from recon.config import load_config
from recon.reconcile import reconcile
from recon.simulate import simulate
from recon.store import Store
from tests.bulk import scenario
from tests.bulk.live import export_server, extractor, record_capabilities, seed_from_export, snapshot

pytestmark = pytest.mark.live

BULK_SPC: dict[str, Any] = copy.deepcopy(RICH_SPC) | {
    "bulk": {"supported": True, "maxOperations": 4, "maxPayloadSize": 1048576}
}
SINGLE_SPC: dict[str, Any] = copy.deepcopy(RICH_SPC) | {
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "etag": {"supported": False},
    "filter": {"supported": False, "maxResults": 100},
}


def findings(store: Store, cycle: str) -> pl.DataFrame:
    reconcile(store, "idp", "app", cycle, scenario.CONFIG)
    return pl.read_parquet(store.findings_dir("idp", "app", cycle) / "findings.parquet")


def remediated(frame: pl.DataFrame) -> list[tuple[str, str]]:
    open_ = frame.filter(
        pl.col("kind").is_in(sorted(scenario.REMEDIATED))
        | ((pl.col("kind") == "orphaned_in_target") & (pl.col("severity") == "critical"))
    )
    return sorted(zip(open_["kind"], open_["severity"], strict=True))


@pytest.fixture
def sender_for() -> Iterator[Any]:
    made: list[HttpSender] = []

    def make(server: ScimServer) -> HttpSender:
        made.append(HttpSender(server.base_url, server.token, sleep=lambda s: None))
        return made[-1]

    yield make
    for sender in made:
        sender.close()


@pytest.mark.slow
def test_plan_apply_reconcile_replay_with_bulk(
    store: Store, scim_server: ScimServerFactory, sender_for: Any
) -> None:
    server = scim_server(BULK_SPC)
    scenario.build(store, server)
    before = findings(store, "c1")
    assert remediated(before) == sorted(
        [("attribute_mismatch", "medium")] * 2
        + [("delayed_activation", "medium"), ("delayed_deactivation", "critical")]
        + [("group_missing_in_target", "medium")] * 2
        + [("membership_excess", "critical"), ("membership_excess", "high"), ("membership_missing", "medium")]
        + [("missing_in_target", "high")] * 2
        + [("orphaned_in_target", "critical")]
    )
    summary = plan(store, "idp", "app", config=scenario.CONFIG)
    assert summary.mode == "bulk" and summary.limits.max_operations == 4
    assert summary.chunks == 3  # 11 operations, 4 per request

    state = snapshot(server)
    dry = apply_plan(store, summary.out_dir, "app")
    assert dry.dry_run and sum(p.operations for p in dry.preview) == summary.total_operations
    assert snapshot(server) == state and not (store.root / "bulk").exists()

    sender = sender_for(server)
    done = apply_plan(
        store, summary.out_dir, "app", sender=sender, extract=extractor(server, ["c2", "c3"]), dry_run=False
    )
    assert done.error is None and done.stopped is None
    assert done.requests == 3 and done.sent == summary.total_operations
    assert done.analysis is not None and done.analysis.unapplied == 0
    assert done.analysis.outcomes["applied"] == summary.total_operations
    scenario.copy_source(store, "c2")
    after = findings(store, "c2")
    assert remediated(after) == []
    assert sorted(after["kind"].to_list()) == [
        "group_orphaned_in_target",
        "orphaned_in_target",
        "orphaned_in_target",
    ]

    state = snapshot(server)
    again = apply_plan(
        store, summary.out_dir, "app", sender=sender, extract=extractor(server, ["c3"]), dry_run=False
    )
    assert again.requests == 0 and again.already_done == summary.total_operations
    assert snapshot(server) == state  # nothing changed, not even a version
    assert again.analysis is not None and again.analysis.unapplied == 0

    replan = plan(store, "idp", "app", "c2", config=scenario.CONFIG)
    assert replan.total_operations == 0 and replan.chunks == 0
    nothing = apply_plan(
        store, replan.out_dir, "app", sender=sender, extract=extractor(server, ["c4"]), dry_run=False
    )
    assert nothing.requests == 0 and nothing.analysis is not None and nothing.analysis.operations == 0


@pytest.mark.slow
def test_failing_operation_with_fail_on_errors_then_reapply(
    store: Store, scim_server: ScimServerFactory, sender_for: Any
) -> None:
    server = scim_server(BULK_SPC)
    ids = scenario.build(store, server)
    findings(store, "c1")
    summary = plan(store, "idp", "app", config=scenario.CONFIG)
    server.delete_user(ids["bob"])  # after the plan: its first operation (deactivate bob) will 404
    sender = sender_for(server)
    first = apply_plan(
        store,
        summary.out_dir,
        "app",
        sender=sender,
        extract=extractor(server, ["c2"]),
        dry_run=False,
        fail_on_errors=1,
    )
    assert first.stopped is not None and "failOnErrors=1 reached" in first.stopped
    assert first.requests == 1  # the run stopped after the first chunk
    table = pl.read_parquet(first.run_dir / "bulk_outcomes.parquet")  # type: ignore[operator]
    bob = table["path"].to_list().index(f"/Users/{ids['bob']}")  # ids are random: bob's place varies
    assert bob < 4  # deactivations come first, so it is in the first chunk
    expected = ["applied"] * bob + ["failed"] + ["not_attempted"] * (summary.total_operations - bob - 1)
    assert table["outcome"].to_list() == expected
    assert (table["status"][bob], table["visible"][bob]) == (404, False)
    not_sent = table.filter(pl.col("label") != "chunk-0001.json")["note"].to_list()
    assert not_sent and all(n.startswith("not sent: the run stopped (failOnErrors=1") for n in not_sent)
    assert first.analysis is not None and first.analysis.unapplied == summary.total_operations - bob

    second = apply_plan(
        store, summary.out_dir, "app", sender=sender, extract=extractor(server, ["c3"]), dry_run=False
    )
    assert second.analysis is not None
    assert second.analysis.outcomes["applied"] == summary.total_operations - 1
    assert second.analysis.outcomes["failed"] == 1  # bob is gone: nothing left to deactivate
    scenario.copy_source(store, "c3")
    assert remediated(findings(store, "c3")) == []


@pytest.mark.slow
def test_without_bulk_the_same_plan_goes_as_single_requests(
    store: Store, scim_server: ScimServerFactory, sender_for: Any
) -> None:
    server = scim_server(SINGLE_SPC)
    scenario.build(store, server)
    findings(store, "c1")
    summary = plan(store, "idp", "app", config=scenario.CONFIG)
    assert summary.mode == "single"
    planned = (summary.out_dir / "chunk-0001.json").read_text()
    assert '"version"' not in planned  # no ETags on this target: no If-Match
    done = apply_plan(
        store,
        summary.out_dir,
        "app",
        sender=sender_for(server),
        extract=extractor(server, ["c2"]),
        dry_run=False,
    )
    assert done.mode == "single" and done.requests == summary.total_operations
    assert done.analysis is not None and done.analysis.unapplied == 0
    scenario.copy_source(store, "c2")
    assert remediated(findings(store, "c2")) == []


@pytest.mark.slow
def test_a_simulated_target_is_remediated(
    store: Store, tmp_path: Path, scim_server: ScimServerFactory, sender_for: Any
) -> None:
    sim = Store(tmp_path / "sim")
    simulate(sim.root, users=150, groups=10, cycles=3, seed=11, profile="hostile")
    cycle = sim.cycles("idp")[-1]
    shutil.copytree(sim.export("idp", cycle).path, store.export("idp", cycle).path)
    # a small maxOperations: creations and the memberships that refer to them span chunks
    server = scim_server(
        copy.deepcopy(RICH_SPC)
        | {"bulk": {"supported": True, "maxOperations": 10, "maxPayloadSize": 1048576}}
    )
    seed_from_export(server, sim.export("slack", cycle))
    export_server(store, "slack", server, cycle)
    record_capabilities(store, "slack", server)
    config = load_config(sim.root / "recon.toml")
    reconcile(store, "idp", "slack", cycle, config)
    before = pl.read_parquet(store.findings_dir("idp", "slack", cycle) / "findings.parquet")
    assert len(remediated(before)) > 20
    summary = plan(store, "idp", "slack", config=config)
    assert summary.chunks > 2 and {"create_user", "create_group", "update_group_members"} <= set(
        summary.operations
    )
    sender = sender_for(server)
    done = apply_plan(
        store, summary.out_dir, "slack", sender=sender, extract=extractor(server, [AFTER]), dry_run=False
    )
    assert done.analysis is not None and done.analysis.unapplied == 0, done.analysis.outcomes
    shutil.copytree(store.export("idp", cycle).path, store.export("idp", AFTER).path)
    manifest = store.export("idp", AFTER).manifest_path
    manifest.write_text(manifest.read_text().replace(cycle, AFTER))
    reconcile(store, "idp", "slack", AFTER, config)
    after = pl.read_parquet(store.findings_dir("idp", "slack", AFTER) / "findings.parquet")
    assert remediated(after) == []


AFTER = "20990101T000000Z"  # after every simulated cycle
