"""Invariants of simulated data folders: layout, truth rows that point at real records, profiles."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from tests.simulate.conftest import Sim

USER_KINDS = {"missing_in_target", "orphaned_in_target", "delayed_deactivation", "delayed_activation"}
ALL_KINDS = USER_KINDS | {
    "ambiguous_match",
    "attribute_mismatch",
    "group_missing_in_target",
    "group_orphaned_in_target",
    "membership_missing",
    "membership_excess",
}
DELTA_KINDS = {
    "missed_change",
    "missed_creation",
    "unreported_deletion",
    "unchanged_returned",
    "stale_last_modified",
    "outside_filter",
}
COMPARED = {"userName", "name.givenName", "name.familyName", "emails[primary]", "title", "department"}


def _ids(frame: pl.DataFrame) -> set[str]:
    return set(frame["id"].to_list())


def _pairs(frame: pl.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["group_id"].to_list(), frame["member_id"].to_list(), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["clean", "typical", "hostile"])
def test_every_export_is_there_complete_and_deltas_record_their_watermark(
    sims: dict[str, Sim], profile: str
) -> None:
    sim = sims[profile]
    assert len(sim.cycles) == 5 and sim.cycles == sorted(sim.cycles)
    for index, cycle in enumerate(sim.cycles):
        for system in ("idp", *sim.targets):
            manifest = sim.manifest(system, cycle)
            assert manifest["status"] == "complete" and manifest["kind"] == "full"
            assert manifest["started"] == sim.meta["cycles"][index]["snapshot"]
        if index == 0:
            assert not sim.export("idp", cycle, "delta").exists()
            continue
        delta = sim.manifest("idp", cycle, "delta")
        previous = datetime.fromisoformat(sim.meta["cycles"][index - 1]["snapshot"])
        assert delta["watermark"] == previous.astimezone(UTC).isoformat().replace("+00:00", "Z")
        assert delta["filter"] == f'meta.lastModified gt "{delta["watermark"]}"'
        assert datetime.fromisoformat(delta["watermark"]).microsecond > 0  # a sub-second watermark
    toml = (sim.root / "recon.toml").read_text()
    assert '[reconcile.idp.slack]\nprivileged_groups = ["admins", "prod-access", "billing-admins"]' in toml


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_findings_truth_points_at_records_that_exist(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    for cycle in sim.cycles:
        source_users = sim.table("idp", cycle, "users")
        source_ids, source_groups = _ids(source_users), _ids(sim.table("idp", cycle, "groups"))
        source_members = _pairs(sim.table("idp", cycle, "memberships"))
        inactive = set(source_users.filter(pl.col("active").not_())["id"].to_list())
        for target in sim.targets:
            target_users = sim.table(target, cycle, "users")
            target_ids, target_groups = _ids(target_users), _ids(sim.table(target, cycle, "groups"))
            target_members = _pairs(sim.table(target, cycle, "memberships"))
            target_inactive = set(target_users.filter(pl.col("active") == False)["id"].to_list())  # noqa: E712
            for row in sim.findings(target, cycle).iter_rows(named=True):
                kind, sid, tid = row["kind"], row["source_id"], row["target_id"]
                gid, tgid = row["group_id"], row["target_group_id"]
                where = f"{profile} {target} {cycle} {row}"
                assert sid is None or sid in source_ids or sid in source_groups, where
                assert tid is None or tid in target_ids or tid in target_groups, where
                assert gid is None or gid in source_groups, where
                assert tgid is None or tgid in target_groups, where
                if kind == "membership_missing":
                    assert (gid, sid) in source_members and (tgid, tid) not in target_members, where
                elif kind == "membership_excess":
                    assert (tgid, tid) in target_members and (gid, sid) not in source_members, where
                elif kind == "delayed_deactivation":
                    assert sid in inactive and tid not in target_inactive, where
                elif kind == "delayed_activation":
                    assert sid not in inactive and tid in target_inactive, where
                elif kind == "missing_in_target":
                    assert sid not in inactive and tid is None, where
                elif kind == "attribute_mismatch":
                    assert row["attribute"] in COMPARED and row["source_value"] != row["target_value"], where


@pytest.mark.parametrize("profile", ["clean", "typical", "hostile"])
def test_delta_truth_points_at_the_right_exports(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    for base, head in zip(sim.cycles, sim.cycles[1:], strict=False):
        watermark = datetime.fromisoformat(sim.manifest("idp", head, "delta")["watermark"])
        for table, resource_type in (("users", "User"), ("groups", "Group")):
            before, after = _ids(sim.table("idp", base, table)), sim.table("idp", head, table)
            returned = sim.table("idp", head, table, "delta")
            now, sent = _ids(after), _ids(returned)
            modified = dict(zip(after["id"].to_list(), after["last_modified"].to_list(), strict=True))
            sent_modified = dict(
                zip(returned["id"].to_list(), returned["last_modified"].to_list(), strict=True)
            )
            for row in (
                sim.deltas(head).filter(pl.col("resource_type") == resource_type).iter_rows(named=True)
            ):
                kind, rid = row["kind"], row["id"]
                where = f"{profile} {head} {row}"
                if kind == "missed_change":
                    assert rid in before and rid in now and rid not in sent, where
                elif kind == "missed_creation":
                    assert rid not in before and rid in now and rid not in sent, where
                elif kind == "unreported_deletion":
                    assert rid in before and rid not in now, where
                elif kind == "unchanged_returned":
                    assert rid in before and rid in now and rid in sent, where
                elif kind == "outside_filter":
                    assert sent_modified[rid] is None or sent_modified[rid] <= watermark, where
                else:
                    assert kind == "stale_last_modified", where
                    assert modified[rid] is None or modified[rid] <= watermark, where


def test_clean_targets_are_perfect_copies_and_its_deltas_exact(sims: dict[str, Sim]) -> None:
    sim = sims["clean"]
    for cycle in sim.cycles:
        for target in sim.targets:
            assert sim.findings(target, cycle).height == 0, f"clean {target} {cycle}"
    kinds = set()
    for head in sim.cycles[1:]:
        kinds |= set(sim.deltas(head)["kind"].to_list())
    # deletions cannot be returned by a filter: they are always reported, so they stay in clean
    assert kinds == {"unreported_deletion"}
    assert not any(sim.meta["faults"][t] for t in sim.targets) and not sim.meta["delta_quirks"]


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_every_finding_kind_appears(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    seen: set[tuple[str, str]] = set()
    for cycle in sim.cycles:
        for target in sim.targets:
            seen |= set(sim.findings(target, cycle).select("kind", "severity").iter_rows())
    assert {kind for kind, _ in seen} == ALL_KINDS
    assert {("membership_excess", "critical"), ("membership_excess", "high")} <= seen
    assert {("orphaned_in_target", "critical"), ("orphaned_in_target", "low")} <= seen
    group_ambiguity = any(
        sim.findings(t, c)
        .filter((pl.col("kind") == "ambiguous_match") & pl.col("group_id").is_not_null())
        .height
        for t in sim.targets
        for c in sim.cycles
    )
    assert group_ambiguity == (profile == "hostile")
    deltas = set()
    for head in sim.cycles[1:]:
        deltas |= set(sim.deltas(head)["kind"].to_list())
    expected = DELTA_KINDS if profile == "hostile" else DELTA_KINDS - {"unchanged_returned", "outside_filter"}
    assert deltas == expected


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_every_injected_fault_is_counted_with_examples(sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    faults = {name for target in sim.targets for name in sim.meta["faults"][target]}
    expected = {
        "joiner_not_provisioned",
        "deactivation_delayed",
        "deletion_not_propagated",
        "mover_not_applied",
        "membership_dropped",
        "membership_removal_missed",
        "manual_orphan",
        "manual_edit",
        "manual_suspension",
        "excess_membership",
        "excess_membership_privileged",
        "duplicate_account",
        "group_not_provisioned",
        "manual_group",
    }
    assert expected <= faults
    for target in sim.targets:
        for name, entry in sim.meta["faults"][target].items():
            assert entry["count"] >= len(entry["examples"]) > 0, name


def test_leavers_truth_matches_the_source_exports(sims: dict[str, Sim]) -> None:
    sim = sims["typical"]
    leavers = pl.read_parquet(sim.root / "truth" / "leavers.parquet")
    assert leavers.height > 0 and set(leavers["target"].to_list()) == set(sim.targets)
    order = {cycle: i for i, cycle in enumerate(sim.cycles)}
    for row in leavers.iter_rows(named=True):
        users = sim.table("idp", row["left_cycle"], "users").filter(pl.col("id") == row["source_id"])
        assert users["active"].to_list() == [False], row
        if order[row["left_cycle"]] > 0:
            before = sim.table("idp", sim.cycles[order[row["left_cycle"]] - 1], "users")
            assert before.filter(pl.col("id") == row["source_id"])["active"].to_list() == [True], row
        if row["deleted_cycle"] is not None:
            assert row["source_id"] not in _ids(sim.table("idp", row["deleted_cycle"], "users")), row
        if row["target_resolved_cycle"] is not None:
            assert order[row["target_resolved_cycle"]] >= order[row["left_cycle"]], row
    assert leavers["target_resolved_cycle"].null_count() > 0  # some leavers are still open at the end
    assert leavers["deleted_cycle"].null_count() < leavers.height  # and some were hard-deleted
