from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.errors import DataNotFound, UsageError
from recon.store import Manifest, Store, atomic_write_json, check_name, cycle_id_now


@pytest.mark.parametrize("name", ["okta", "slack-prod", "a.b_c-1", "X" * 64, "20260101T000000Z"])
def test_safe_names_are_accepted(name: str) -> None:
    assert check_name(name, "system name") == name


@pytest.mark.parametrize("name", ["", ".", "..", "...", "a/b", "../etc", "x" * 65, "sp ace", "é", "a\\b"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid system name"):
        check_name(name, "system name")


def test_partition_paths_follow_the_contract(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ref = store.export("okta", "c1", "delta")
    assert ref.path == tmp_path / "exports" / "system=okta" / "cycle=c1" / "kind=delta"
    assert ref.table("users") == ref.path / "users.parquet"
    assert (
        store.findings_dir("okta", "slack", "c1") == tmp_path / "findings/source=okta/target=slack/cycle=c1"
    )
    assert store.deltas_dir("okta", "c2") == tmp_path / "deltas/system=okta/head=c2"
    assert store.capabilities_dir("okta") == tmp_path / "capabilities/system=okta"


def test_data_dir_defaults_to_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Store().root == tmp_path / "elsewhere"
    monkeypatch.delenv("RECON_DATA_DIR")
    assert Store().root == Path("data")


def _publish(store: Store, system: str, cycle: str, status: str = "complete", kind: str = "full") -> None:
    ref = store.export(system, cycle, kind)  # type: ignore[arg-type]
    with store.publishing(ref.path) as staging:
        manifest = Manifest(system=system, cycle=cycle, kind=kind, status=status)  # type: ignore[arg-type]
        atomic_write_json(staging / "manifest.json", manifest.to_json())


def test_latest_complete_skips_partial_and_respects_bound(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "okta", "20260101T000000Z")
    _publish(store, "okta", "20260102T000000Z")
    _publish(store, "okta", "20260103T000000Z", status="partial")
    _publish(store, "okta", "20260102T000000Z", kind="delta")
    assert store.cycles("okta") == ["20260101T000000Z", "20260102T000000Z"]
    assert store.cycles("okta", complete_only=False) == [
        "20260101T000000Z",
        "20260102T000000Z",
        "20260103T000000Z",
    ]
    assert store.latest_complete("okta").cycle == "20260102T000000Z"
    assert store.latest_complete("okta", at_or_before="20260101T235959Z").cycle == "20260101T000000Z"
    assert store.latest_complete("okta", "delta").cycle == "20260102T000000Z"
    with pytest.raises(DataNotFound, match="no complete full export of system 'slack'"):
        store.latest_complete("slack")
    with pytest.raises(DataNotFound, match="is partial"):
        store.complete_export("okta", "20260103T000000Z")


def test_publishing_failure_leaves_previous_partition_untouched(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _publish(store, "okta", "c1")
    ref = store.export("okta", "c1")
    before = ref.manifest_path.read_bytes()
    with pytest.raises(RuntimeError), store.publishing(ref.path) as staging:
        (staging / "users.parquet").write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert ref.manifest_path.read_bytes() == before
    assert not (ref.path / "users.parquet").exists()
    assert list((tmp_path / ".staging").iterdir()) == []


def test_publishing_replaces_a_partition_whole(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ref = store.export("okta", "c1")
    with store.publishing(ref.path) as staging:
        (staging / "old.txt").write_text("old")
    with store.publishing(ref.path) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in ref.path.iterdir()) == ["new.txt"]


def test_atomic_write_json_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "x" / "summary.json"
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]


def test_manifest_round_trip_ignores_unknown_keys() -> None:
    manifest = Manifest(system="okta", cycle="c1", kind="delta", filter='meta.lastModified gt "x"')
    manifest.add_anomaly("duplicate_ids", "2 dropped", 2)
    data = manifest.to_json() | {"from_a_newer_version": True}
    again = Manifest.from_json(data)
    assert again == manifest


def test_cycle_id_now_sorts_in_time_order() -> None:
    from datetime import UTC, datetime

    early = cycle_id_now(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = cycle_id_now(datetime(2026, 10, 1, 0, 0, 0, tzinfo=UTC))
    assert early == "20260102T030405Z"
    assert early < late
