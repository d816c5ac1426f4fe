"""Open-drift ages and the per-cycle table against a plain Python reading of the definitions.

The SQL ages most findings from their spans (one clean run) and only the others row by row; this
draws findings with gaps, duplicate rows, NULL ids and unknown severities on many cycles, and
checks ages, new and oldest per cycle, and the latest cycle's ages against the module doc's
definition computed here from the rows alone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import polars as pl
import pytest

from recon.engine import open_session
from recon.findings import SEVERITIES
from recon.reports.history import CYCLES_SCHEMA

IDENTITY = ("kind", "source_id", "target_id", "group_id", "target_group_id", "attribute")
COLUMNS = (
    "source", "target", "cycle", "kind", "severity", "source_id", "target_id", "user_name", "group_id",
    "target_group_id", "group_name", "attribute", "source_value", "target_value", "detail",
)  # fmt: skip


def drawn(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    cycle_rows: list[dict[str, Any]] = []
    for target in ("a", "b"):
        count = rnd.choice([1, 3, 8, 70])  # 70: runs longer than 63 cycles are aged row by row
        ids = [f"c{i:03d}" for i in range(count)]
        cycle_rows += [
            {"source": "idp", "target": target, "cycle": c, "cycle_index": i, "cycle_time": None,
             "cycle_epoch": None, "cycle_rank": i}  # the ids of both pairs start at c000: rank = index
            for i, c in enumerate(ids, start=1)
        ]  # fmt: skip
        pool = [
            (rnd.choice(["attribute_mismatch", "missing_in_target"]), rnd.choice([None, "u1", "u2"]),
             rnd.choice([None, "t1"]), rnd.choice([None, "g1"]), None, rnd.choice([None, "title"]))
            for _ in range(6)
        ]  # fmt: skip
        presence = rnd.random()
        for cycle in ids:
            for identity in pool:
                if rnd.random() > presence:
                    continue
                for _ in range(2 if rnd.random() < 0.05 else 1):  # now and then a duplicate row
                    row = dict(zip(IDENTITY, identity, strict=True))
                    severity = rnd.choice([*SEVERITIES, "unheard-of"])
                    rows.append({**dict.fromkeys(COLUMNS), **row, "source": "idp", "target": target,
                                 "cycle": cycle, "severity": severity, "detail": severity})  # fmt: skip
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String))
    return frame, pl.DataFrame(cycle_rows, schema=CYCLES_SCHEMA)


def expected(findings: pl.DataFrame, cycles: pl.DataFrame) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Per (pair, cycle index): (findings, new, oldest); per latest open identity: age."""
    index = {(r["target"], r["cycle"]): r["cycle_index"] for r in cycles.iter_rows(named=True)}
    seen: dict[Any, set[int]] = defaultdict(set)
    for r in findings.iter_rows(named=True):
        seen[(r["target"], *(r[c] for c in IDENTITY))].add(index[(r["target"], r["cycle"])])
    per_cycle: dict[Any, list[int]] = defaultdict(list)
    latest_age = {}
    last = {r["target"]: r["cycle_index"] for r in cycles.iter_rows(named=True)}
    for key, present in seen.items():
        for i in present:
            age = 1
            while i - age in present:
                age += 1
            per_cycle[(key[0], i)].append(age)
            if i == last[key[0]]:
                latest_age[key] = age
    table = {k: (len(v), sum(a == 1 for a in v), max(v)) for k, v in per_cycle.items()}
    return table, latest_age


@pytest.mark.parametrize("seed", range(12))
def test_ages_equal_the_definition(seed: int) -> None:
    findings, cycles = drawn(seed)
    table, latest_age = expected(findings, cycles)
    last = cycles.group_by("target").agg(pl.col("cycle").max())
    latest = findings.join(last, on=["target", "cycle"])
    with open_session() as session:
        spans = session.run("history_drift_spans", None, {"findings": findings, "cycles": cycles}, keep=True)
        drift = {"drift_spans": spans, "cycles": cycles}
        aged = session.run("history_drift_age", None, {**drift, "findings": findings}, keep=True)
        drift["aged_findings"] = aged
        counts = session.run("history_counts", None, {**drift, "findings": findings}, keep=True)
        got_cycles = session.polars(session.run("history_cycles", None, {**drift, "counts": counts}))
        open_drift = session.polars(
            session.run("history_open_drift", None, {**drift, "latest_findings": latest})
        )
    for r in got_cycles.iter_rows(named=True):
        want = table.get((r["target"], r["cycle_index"]), (0, 0, 0))
        assert (r["findings"], r["new"], r["max_age"]) == want, (r["target"], r["cycle"])
    got_ages = {(r["target"], *(r[c] for c in IDENTITY)): r["age"] for r in open_drift.iter_rows(named=True)}
    assert got_ages == latest_age
