"""A small hand-made data folder (findings, delta findings, source exports) with known history.

Source ``idp``, targets ``slack`` and ``github``, four daily cycles C1..C4. Every expected number
in the tests is worked out by hand from the tables below, not from the code under test.

Source users over the cycles (A = active, I = inactive, - = absent):

    u1 alice  A A A A      u5 erin  A A A A (missing in github from C3)
    u2 bob    A I I I      u6 frank I I I I (left before C1, never had accounts)
    u3 carol  A I - -      u7 gina  A A I I
    u4 dave   A A A A
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.extract.files import import_files
from recon.extract.normalize import USER_SCHEMA
from recon.store import Store

C1, C2, C3, C4 = "20260105T020000Z", "20260106T020000Z", "20260107T020000Z", "20260108T020000Z"
CYCLES = (C1, C2, C3, C4)

FINDING_COLUMNS = (
    "kind",
    "severity",
    "source_id",
    "target_id",
    "user_name",
    "group_id",
    "target_group_id",
    "group_name",
    "attribute",
    "source_value",
    "target_value",
    "detail",
)

NAMES = {"u1": "alice", "u2": "bob", "u3": "carol", "u4": "dave", "u5": "erin", "u6": "frank", "u7": "gina"}
SOURCE_STATE = {  # per cycle: A active, I inactive, - absent
    "u1": "AAAA",
    "u2": "AIII",
    "u3": "AI--",
    "u4": "AAAA",
    "u5": "AAAA",
    "u6": "IIII",
    "u7": "AAII",
}


def finding(kind: str, severity: str, **values: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = dict.fromkeys(FINDING_COLUMNS)
    row.update(kind=kind, severity=severity, detail=f"{kind} (hand-made)")
    row.update(values)
    if row["source_id"] in NAMES and row["user_name"] is None:
        row["user_name"] = f"{NAMES[row['source_id']]}@example.com"
    return row


def am_u1() -> dict[str, str | None]:
    return finding(
        "attribute_mismatch",
        "medium",
        source_id="u1",
        target_id="s1",
        attribute="department",
        source_value="Sales",
        target_value="Ops",
    )


def mm_u4() -> dict[str, str | None]:
    return finding(
        "membership_missing",
        "medium",
        source_id="u4",
        target_id="s4",
        group_id="g1",
        target_group_id="sg1",
        group_name="engineering",
    )


SLACK = {
    C1: [am_u1()],
    C2: [
        am_u1(),
        finding("delayed_deactivation", "critical", source_id="u2", target_id="s2"),
        finding("delayed_deactivation", "critical", source_id="u3", target_id="s3"),
        mm_u4(),
    ],
    C3: [
        am_u1(),
        finding("delayed_deactivation", "critical", source_id="u2", target_id="s2"),
        finding("orphaned_in_target", "critical", target_id="s3", user_name="carol@example.com"),
        finding("delayed_deactivation", "critical", source_id="u7", target_id="s7"),
    ],
    C4: [
        am_u1(),
        finding("orphaned_in_target", "critical", target_id="s3", user_name="carol@example.com"),
        finding("delayed_deactivation", "critical", source_id="u7", target_id="s7"),
        mm_u4(),
    ],
}
GITHUB: dict[str, list[dict[str, str | None]]] = {
    C1: [],
    C2: [
        finding("delayed_deactivation", "critical", source_id="u3", target_id="gh3"),
        finding("delayed_deactivation", "critical", source_id="u2", target_id="gh2"),
    ],
    C3: [
        finding("orphaned_in_target", "low", target_id="gh3", user_name="carol@example.com"),
        finding("missing_in_target", "high", source_id="u5"),
        finding("delayed_deactivation", "critical", source_id="u2", target_id="gh2"),
    ],
    C4: [
        finding("missing_in_target", "high", source_id="u5"),
        finding("orphaned_in_target", "low", target_id="gh3", user_name="carol@example.com"),
    ],
}

DELTA_COLUMNS = ("kind", "resource_type", "id", "name", "base_last_modified", "head_last_modified", "detail")
DELTAS: dict[str, tuple[str, float, list[tuple[str, str, str]]]] = {
    C2: (C1, 1.0, []),
    C3: (
        C2,
        0.5,
        [
            ("missed_change", "User", "u2"),
            ("stale_last_modified", "User", "u2"),
            ("missed_change", "User", "u4"),
            ("unchanged_returned", "User", "u1"),
            ("unreported_deletion", "User", "u3"),
        ],
    ),
    C4: (C3, 0.75, [("missed_creation", "Group", "g9")]),
}


def write_findings(store: Store, source: str, target: str, cycle: str, rows: list[dict[str, Any]]) -> None:
    folder = store.findings_dir(source, target, cycle)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(FINDING_COLUMNS, pl.String))
    frame.write_parquet(folder / "findings.parquet")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    (folder / "summary.json").write_text(json.dumps({"counts": counts, "total": len(rows)}))


def write_delta(
    store: Store, system: str, head: str, base: str, completeness: float, rows: list[tuple[str, str, str]]
) -> None:
    folder = store.deltas_dir(system, head)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(
        [dict(zip(DELTA_COLUMNS, (k, t, i, i, None, None, k), strict=True)) for k, t, i in rows],
        schema=dict.fromkeys(DELTA_COLUMNS, pl.String),
    )
    frame.write_parquet(folder / "delta_findings.parquet")
    (folder / "summary.json").write_text(
        json.dumps({"base": base, "head": head, "completeness": completeness})
    )


def write_source_exports(store: Store, tmp: Path) -> None:
    for index, cycle in enumerate(CYCLES):
        lines = []
        for uid, states in SOURCE_STATE.items():
            if states[index] == "-":
                continue
            resource = {
                "schemas": [USER_SCHEMA],
                "id": uid,
                "userName": f"{NAMES[uid]}@example.com",
                "active": states[index] == "A",
            }
            lines.append(json.dumps(resource))
        path = tmp / f"idp-{cycle}.ndjson"
        path.write_text("\n".join(lines) + "\n")
        import_files(store, [path], system="idp", cycle=cycle)


def build(root: Path) -> Store:
    """Write the scenario under ``root/data`` and return its store."""
    store = Store(root / "data")
    root.mkdir(parents=True, exist_ok=True)
    write_source_exports(store, root)
    for cycle in CYCLES:
        write_findings(store, "idp", "slack", cycle, SLACK[cycle])
        write_findings(store, "idp", "github", cycle, GITHUB[cycle])
    for head, (base, completeness, rows) in DELTAS.items():
        write_delta(store, "idp", head, base, completeness, rows)
    return store


_BUILT: dict[str, Store] = {}


def shared(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The scenario built once per test session (tests must only read it)."""
    if "store" not in _BUILT:
        _BUILT["store"] = build(Path(tmp_path_factory.mktemp("scenario")))
    return _BUILT["store"]
