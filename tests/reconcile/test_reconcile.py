"""The reconcile use case: choosing exports, publishing findings + summary, thresholds, config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest

from recon.config import parse_config
from recon.errors import ConfigError, DataNotFound, UsageError
from recon.extract.files import import_files
from recon.reconcile.run import FINDINGS, reconcile
from recon.store import Store
from tests.reconcile.builders import group, user, write_export

C1, C2, C3 = "20260105T020000Z", "20260106T020000Z", "20260107T020000Z"


def keys(path: Path) -> set[tuple[str | None, ...]]:
    frame = pl.read_parquet(path)
    return {
        (
            r["kind"],
            r["severity"],
            r["source_id"],
            r["target_id"],
            r["group_id"],
            r["target_group_id"],
            r["attribute"],
        )
        for r in frame.iter_rows(named=True)
    }


def test_default_cycle_is_the_latest_with_complete_full_exports_of_both(store: Store) -> None:
    for cycle in (C1, C2, C3):
        write_export(store, "idp", [user("u1", "ann")], cycle=cycle)
    write_export(store, "app", [user("t1", "ann")], cycle=C1)
    write_export(store, "app", [user("t1", "ann")], cycle=C2)
    write_export(store, "app", [user("t1", "ann")], cycle=C3, status="partial")
    cycle, source, target = store.pick_pair("idp", "app")
    assert (cycle, source.cycle, target.cycle) == (C2, C2, C2)
    cycle, _, _ = store.pick_pair("idp", "app", allow_partial=True)
    assert cycle == C3


def test_a_partial_export_is_refused_unless_allowed_and_then_marked(store: Store) -> None:
    write_export(store, "idp", [user("u1", "ann")], cycle=C1)
    write_export(store, "app", [user("t1", "ann")], cycle=C1, status="partial")
    with pytest.raises(DataNotFound, match=r"is partial \(pass --allow-partial"):
        reconcile(store, "idp", "app", C1)
    with pytest.raises(DataNotFound, match="only partial exports in common"):
        reconcile(store, "idp", "app")
    summary = reconcile(store, "idp", "app", C1, allow_partial=True)
    assert summary.allow_partial
    assert summary.partial_inputs == (str(store.export("app", C1).path),)
    written = json.loads(summary.summary_path.read_text())
    assert written["allow_partial"] is True and written["partial_inputs"] == [
        str(store.export("app", C1).path)
    ]


def test_a_failed_export_is_never_used(store: Store) -> None:
    write_export(store, "idp", [user("u1", "ann")], cycle=C1)
    write_export(store, "app", [user("t1", "ann")], cycle=C1, status="failed")
    with pytest.raises(DataNotFound, match="is failed"):
        reconcile(store, "idp", "app", C1, allow_partial=True)


def test_missing_exports_and_bad_names_are_clear_errors(store: Store) -> None:
    with pytest.raises(DataNotFound, match="no full export of system 'idp'"):
        reconcile(store, "idp", "app")
    write_export(store, "idp", [user("u1", "ann")], cycle=C1)
    write_export(store, "app", [user("t1", "ann")], cycle=C2)
    with pytest.raises(DataNotFound, match="no cycle has complete full exports of both"):
        reconcile(store, "idp", "app")
    with pytest.raises(DataNotFound, match=f"no full export of system 'app' for cycle {C1}"):
        reconcile(store, "idp", "app", C1)
    with pytest.raises(UsageError):
        reconcile(store, "idp", "../app")
    with pytest.raises(UsageError, match="both 'idp'"):
        reconcile(store, "idp", "idp")


def test_findings_file_summary_and_thresholds(store: Store) -> None:
    write_export(
        store,
        "idp",
        [
            user("u1", "ann", title="Engineer"),
            user("u2", "bob", active=False),
            user("u3", "cy"),
            group("g1", "admins", ["u1"]),
        ],
    )
    write_export(
        store,
        "app",
        [
            user("t1", "ANN", external_id="u1", title="Manager"),
            user("t2", "bob", external_id="u2"),
            user("t9", "zed"),
            group("tg1", "Admins", ["t1", "t2"]),
        ],
    )
    config = parse_config(
        {
            "reconcile": {"idp": {"app": {"privileged_groups": ["admins"]}}},
            "thresholds": {"orphaned_in_target": 0, "missing_in_target": 5, "missed_change": 0},
        }
    )
    summary = reconcile(store, "idp", "app", config=config)
    assert summary.findings_path == store.findings_dir("idp", "app", C1) / "findings.parquet"
    table = pq.read_table(summary.findings_path)
    assert table.schema.equals(FINDINGS)
    assert keys(summary.findings_path) == {
        ("attribute_mismatch", "medium", "u1", "t1", None, None, "title"),
        ("delayed_deactivation", "critical", "u2", "t2", None, None, None),
        ("missing_in_target", "high", "u3", None, None, None, None),
        ("orphaned_in_target", "critical", None, "t9", None, None, None),
        ("membership_excess", "critical", "u2", "t2", "g1", "tg1", None),
    }
    order = [(r["kind"], r["source_id"] or "") for r in table.to_pylist()]
    assert order == sorted(order)
    assert summary.by_kind["orphaned_in_target"] == 1 and summary.by_severity["critical"] == 3
    # thresholds of other commands' kinds (missed_change) are not applied here
    assert [(t.kind, t.limit, t.count, t.exceeded) for t in summary.thresholds] == [
        ("missing_in_target", 5, 1, False),
        ("orphaned_in_target", 0, 1, True),
    ]
    written = json.loads(summary.summary_path.read_text())
    assert written["source"] == "idp" and written["target"] == "app" and written["cycle"] == C1
    assert written["counts"]["by_kind"]["membership_excess"] == 1
    assert written["exceeded"] == ["orphaned_in_target"]
    assert written["inputs"] == {
        "idp": str(store.export("idp", C1).path),
        "app": str(store.export("app", C1).path),
    }
    assert written["tool_version"]
    assert written["correlation"]["users"][0] == {
        "rule": "id = externalId",
        "matched": 2,
        "ambiguous_pairs": 0,
    }


def test_a_rerun_replaces_the_findings_folder_whole(store: Store) -> None:
    write_export(store, "idp", [user("u1", "ann"), user("u2", "bob")])
    write_export(store, "app", [user("t1", "ann")])
    first = reconcile(store, "idp", "app")
    assert first.total == 1
    write_export(store, "app", [user("t1", "ann"), user("t2", "bob")])
    second = reconcile(store, "idp", "app")
    assert second.total == 0
    assert pl.read_parquet(second.findings_path).height == 0
    assert sorted(p.name for p in second.findings_path.parent.iterdir()) == [
        "findings.parquet",
        "summary.json",
    ]
    assert not any((store.root / ".staging").iterdir())


def test_deleted_and_recreated_user(store: Store) -> None:
    # the IdP deleted u-old and created u-new with the same userName. The app still has the
    # old account (externalId u-old) and, for the second app, also a fresh one for u-new.
    write_export(store, "idp", [user("u-new", "ann")])
    write_export(store, "app", [user("t-old", "ann", external_id="u-old")])
    summary = reconcile(store, "idp", "app")
    # rule 1 finds nothing (u-old is gone); rule 2 matches the old account by userName
    assert keys(summary.findings_path) == set()
    write_export(
        store, "app2", [user("t-old", "ann", external_id="u-old"), user("t-new", "ann", external_id="u-new")]
    )
    summary = reconcile(store, "idp", "app2")
    # u-new is matched by rule 1 and no longer open for rule 2: the old account is an orphan
    assert keys(summary.findings_path) == {
        ("orphaned_in_target", "critical", None, "t-old", None, None, None)
    }


def test_user_matched_by_user_name_when_external_id_is_absent_or_empty(store: Store) -> None:
    write_export(store, "idp", [user("u1", "Ann.Lee", title="A"), user("u2", "bob", title="B")])
    write_export(
        store, "app", [user("t1", "ann.lee", title="A"), user("t2", "BOB", external_id="", title="C")]
    )
    summary = reconcile(store, "idp", "app")
    assert keys(summary.findings_path) == {("attribute_mismatch", "medium", "u2", "t2", None, None, "title")}
    assert summary.correlation["users"][1]["matched"] == 2


def test_duplicate_external_ids_are_ambiguous_and_nothing_else(store: Store) -> None:
    write_export(store, "idp", [user("u1", "ann", active=False), group("g1", "eng", ["u1"])])
    write_export(
        store,
        "app",
        [
            user("t1", "ann", external_id="u1"),
            user("t2", "ann2", external_id="u1"),
            group("tg1", "eng", ["t1"]),
        ],
    )
    summary = reconcile(store, "idp", "app")
    assert keys(summary.findings_path) == {
        ("ambiguous_match", "high", "u1", "t1", None, None, None),
        ("ambiguous_match", "high", "u1", "t2", None, None, None),
    }


def test_scope_groups_are_transitive_and_must_exist(store: Store) -> None:
    write_export(
        store,
        "idp",
        [
            user("u1", "ann"),
            user("u2", "bob"),
            user("u3", "cy"),
            group("g1", "app-users", ["u1", ("g2", "Group")]),
            group("g2", "contractors", ["u2"]),
        ],
    )
    write_export(store, "app", [user("t9", "zed")])
    config = parse_config({"reconcile": {"idp": {"app": {"scope_groups": ["App-Users"]}}}})
    summary = reconcile(store, "idp", "app", config=config)
    missing = {k[2] for k in keys(summary.findings_path) if k[0] == "missing_in_target"}
    assert missing == {"u1", "u2"}
    bad = parse_config({"reconcile": {"idp": {"app": {"scope_groups": ["app-users", "nope"]}}}})
    with pytest.raises(ConfigError, match=r"scope_groups: no source group named 'nope'"):
        reconcile(store, "idp", "app", config=bad)


def test_unknown_privileged_group_is_a_warning(store: Store) -> None:
    write_export(store, "idp", [user("u1", "ann")])
    write_export(store, "app", [user("t1", "ann")])
    config = parse_config({"reconcile": {"idp": {"app": {"privileged_groups": ["root"]}}}})
    summary = reconcile(store, "idp", "app", config=config)
    assert summary.warnings == ("privileged_groups not found in the source: root",)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ({"match": [["emails", "emails"]]}, "cannot be a match attribute"),
        ({"match": [["active", "active"]]}, "cannot be a match attribute"),
        ({"compare": ["name[x]"]}, "not multi-valued"),
        ({"compare": ["emails[type gt 1]"]}, "filters are supported"),
        ({"group_match": [["members", "members"]]}, "cannot be a match attribute"),
    ],
)
def test_bad_match_and_compare_paths_are_config_errors(store: Store, pair: dict, message: str) -> None:
    write_export(store, "idp", [user("u1", "ann")])
    write_export(store, "app", [user("t1", "ann")])
    with pytest.raises(ConfigError, match=message):
        reconcile(store, "idp", "app", config=parse_config({"reconcile": {"idp": {"app": pair}}}))


def test_configured_match_rules_compare_list_and_raw_paths(store: Store) -> None:
    ext = "urn:example:params:scim:schemas:extension:acme:1.0:User"
    write_export(
        store,
        "idp",
        [
            user("u1", "ann", emails=[{"value": "ann@x.com", "type": "work"}], **{ext: {"badge": "7"}}),
            user("u2", "bob", emails=[{"value": "bob@x.com", "type": "work"}], **{ext: {"badge": "8"}}),
        ],
    )
    write_export(
        store,
        "app",
        [
            user("t1", "a.lee", emails=[{"value": "ANN@x.com", "type": "work"}], **{ext: {"badge": "7"}}),
            user("t2", "b.lee", emails=[{"value": "bob@x.com", "type": "work"}], **{ext: {"badge": "9"}}),
        ],
    )
    pair = {"match": [["emails[primary]", "emails[primary]"]], "compare": ["userName", f"{ext}:badge"]}
    summary = reconcile(store, "idp", "app", config=parse_config({"reconcile": {"idp": {"app": pair}}}))
    assert keys(summary.findings_path) == {
        ("attribute_mismatch", "medium", "u1", "t1", None, None, "userName"),
        ("attribute_mismatch", "medium", "u2", "t2", None, None, "userName"),
        ("attribute_mismatch", "medium", "u2", "t2", None, None, f"{ext}:badge"),
    }


def test_exports_imported_from_ndjson_reconcile(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "idp.ndjson"
    target = tmp_path / "app.ndjson"
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in [user("u1", "ann"), group("g1", "eng", ["u1"])]))
    target.write_bytes(
        b"\n".join(
            orjson.dumps(r)
            for r in [
                user("t1", "ann", meta={"lastModified": "2026-01-05T04:00:00+02:00"}),
                group("tg1", "ENG", []),
            ]
        )
    )
    import_files(store, [source], system="idp", cycle=C1)
    import_files(store, [target], system="app", cycle=C1)
    summary = reconcile(store, "idp", "app")
    assert keys(summary.findings_path) == {("membership_missing", "medium", "u1", "t1", "g1", "tg1", None)}


@pytest.mark.parametrize("miscount", [-1, 1])
def test_weights_drawn_for_other_than_the_matched_groups_fail_the_run(
    store: Store, monkeypatch: pytest.MonkeyPatch, miscount: int
) -> None:
    # the membership prints sum one pair of weights per matched group, drawn as many as the
    # groups' correlation stats count: were that count and the rows reconcile_group_weights.sql
    # numbers ever to disagree, the groups left without weights would drop out of both prints
    # alike and their drift (u1 missing from g2 in the target) go unreported: the run must fail
    write_export(store, "idp", [user("u1", "ann"), group("g1", "one", ["u1"]), group("g2", "two", ["u1"])])
    write_export(
        store,
        "app",
        [
            user("t1", "ann", external_id="u1"),
            group("tg1", "one", ["t1"], external_id="g1"),
            group("tg2", "two", [], external_id="g2"),
        ],
    )
    assert reconcile(store, "idp", "app").by_kind["membership_missing"] == 1  # the drift at stake

    import recon.reconcile.run as run

    counted = run._membership_findings

    def miscounted(session: Any, inputs: Any, matched_groups: int, **given: Any) -> Any:
        return counted(session, inputs, matched_groups + miscount, **given)

    monkeypatch.setattr(run, "_membership_findings", miscounted)
    with pytest.raises(RuntimeError, match=f"weights for {2 + miscount} matched groups.* numbered 2"):
        reconcile(store, "idp", "app")


@pytest.mark.parametrize("together", [True, False])
def test_prints_grouped_at_once_or_one_after_the_other_give_the_same_findings(
    store: Store, monkeypatch: pytest.MonkeyPatch, together: bool
) -> None:
    # both sides' membership prints run at the same time (one engine thread each) when their
    # memberships fit a quarter of the memory limit, else one after the other: the same findings
    write_export(
        store,
        "idp",
        [
            user("u1", "ann"),
            user("u2", "bob"),
            user("u3", "cy"),
            group("g1", "one", ["u1", "u2", "u3"]),
            group("g2", "two", ["u1"]),
        ],
    )
    write_export(
        store,
        "app",
        [
            user("t1", "ann", external_id="u1"),
            user("t2", "bob", external_id="u2"),
            user("t3", "cy", external_id="u3"),
            group("tg1", "one", ["t1", "t3"], external_id="g1"),
            group("tg2", "two", ["t1", "t2"], external_id="g2"),
        ],
    )
    import recon.reconcile.run as run

    seen: list[bool] = []
    decided = run._prints_fit_together

    def forced(*args: Any) -> bool:
        seen.append(decided(*args))  # small exports: the real decision is to run them at once
        return together

    monkeypatch.setattr(run, "_prints_fit_together", forced)
    summary = reconcile(store, "idp", "app")
    assert seen == [True]
    assert keys(summary.findings_path) == {
        ("membership_missing", "medium", "u2", "t2", "g1", "tg1", None),
        ("membership_excess", "high", "u2", "t2", "g2", "tg2", None),
    }
