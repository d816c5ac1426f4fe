"""``history_leavers_bits`` over ``history_leaver_exports`` and ``history_leaver_delayed`` (a set of
cycles as one 64-bit integer, for pairs of at most 61 cycles) gives exactly the rows of
``history_leavers`` (cycle by cycle), in the same order: the order both statements document.

The draws reach every branch the two statements decide differently: leavers exported again after
leaving (active, or with active unknown), duplicate export rows (with one name or two),
gaps in the exports, pairs that lack some of the source's cycles, duplicate and NULL-keyed
findings, access with gaps, orphaned accounts (low severity or not) after a hard delete, and
findings cycles without a source export (in the spans the delayed findings' cycles come from, not
in the leavers' cycles).
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest

from recon.engine import open_session
from recon.reports.history import BIT_SET_CYCLES, CYCLES_SCHEMA

FINDING_COLUMNS = (
    "source", "target", "cycle", "kind", "severity", "source_id", "target_id", "user_name", "group_id",
    "target_group_id", "group_name", "attribute", "source_value", "target_value", "detail",
)  # fmt: skip
USERS_SCHEMA: dict[str, Any] = {
    "system": pl.String,
    "cycle": pl.String,
    "id": pl.String,
    "user_name": pl.String,
    "active": pl.Boolean,
}


def drawn(seed: int) -> dict[str, pl.DataFrame]:
    rnd = random.Random(seed)
    count = rnd.choice([2, 5, 9, BIT_SET_CYCLES])
    source_cycles = [f"c{i:02d}" for i in range(count)]
    users: list[dict[str, Any]] = []
    for n in range(12):
        uid = rnd.choice([f"u{n}", f"u{n}", None]) if n else "u0"
        leaves = rnd.randrange(count + 2)
        gone = leaves + rnd.randrange(4)
        back = rnd.random() < 0.25  # exported again (rehired, or active unknown) after leaving
        for at, cycle in enumerate(source_cycles):
            if rnd.random() < 0.1:
                continue  # a gap in this user's exports
            if at < leaves:
                active: bool | None = True
            elif at < gone or (back and rnd.random() < 0.5):
                active = False if not back or rnd.random() < 0.5 else rnd.choice([True, None])
            else:
                continue
            twice = [rnd.choice([f"m{n}", f"n{n}"])] if rnd.random() < 0.08 else []  # now and then two rows
            for name in [f"n{n}", *twice]:
                users.append(
                    {"system": "idp", "cycle": cycle, "id": uid, "user_name": name, "active": active}
                )
    findings: list[dict[str, Any]] = []
    cycle_rows: list[dict[str, Any]] = []
    # cycles whose findings are on disk but not the source export: the leavers leave them out, the
    # spans (over all the findings cycles) do not
    unexported = {c for c in source_cycles[1:] if rnd.random() < 0.15}
    users = [u for u in users if u["cycle"] not in unexported]
    for target in ("a", "b"):
        # some pairs lack cycles of the source
        kept = [c for c in source_cycles if rnd.random() < 0.85] or source_cycles[:1]
        for index, cycle in enumerate(kept, start=1):
            cycle_rows.append(
                {"source": "idp", "target": target, "cycle": cycle, "cycle_index": index, "cycle_time": None,
                 "cycle_epoch": index * 3600 * rnd.choice([6, 24]),
                 "cycle_rank": source_cycles.index(cycle) + 1}
            )  # fmt: skip
            for n in range(12):
                account = rnd.choice([f"t{n}", f"t{n}", None, "t99"])
                for _ in range(rnd.choice([0, 0, 1, 1, 2])):
                    findings.append(
                        {**dict.fromkeys(FINDING_COLUMNS), "source": "idp", "target": target, "cycle": cycle,
                         "kind": "delayed_deactivation", "severity": "critical",
                         "source_id": rnd.choice([f"u{n}", f"u{n}", None]), "target_id": account}
                    )  # fmt: skip
                if rnd.random() < 0.3:
                    findings.append(
                        {**dict.fromkeys(FINDING_COLUMNS), "source": "idp", "target": target, "cycle": cycle,
                         "kind": "orphaned_in_target", "severity": rnd.choice(["critical", "low", None]),
                         "target_id": rnd.choice([f"t{n}", "t99", None])}
                    )  # fmt: skip
    all_cycles = pl.DataFrame(cycle_rows, schema=CYCLES_SCHEMA)
    exported = all_cycles.filter(~pl.col("cycle").is_in(sorted(unexported)))  # as history() numbers them
    numbered = pl.int_range(1, pl.len() + 1).over("source", "target").alias("cycle_index")
    exported = exported.with_columns(numbered)
    return {
        "source_users": pl.DataFrame(users, schema=USERS_SCHEMA),
        "findings": pl.DataFrame(findings, schema=dict.fromkeys(FINDING_COLUMNS, pl.String)),
        "cycles": exported,
        "all_cycles": all_cycles,
    }


# names whose order by their bytes differs from a case- or accent-blind order, and the empty name
NAMES = ("ann", "Ann", "ánn", "an", "ann ", "zoë", "Zed", "", None)


def both_forms(relations: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of ``history_leavers`` and of ``history_leavers_bits`` over the drawn relations."""
    all_cycles = relations.pop("all_cycles")
    with open_session() as session:
        general = session.polars(session.run("history_leavers", None, relations))
        spans = {"findings": relations["findings"], "cycles": all_cycles}
        kept_spans = session.run("history_drift_spans", None, spans, keep=True)
        delayed = {
            "findings": relations.pop("findings"),
            "cycles": relations["cycles"],
            "drift_spans": kept_spans,
        }
        relations["leaver_delayed"] = session.run("history_leaver_delayed", None, delayed, keep=True)
        exports = {"source_users": relations.pop("source_users"), "cycles": relations["cycles"]}
        relations["leaver_exports"] = session.run("history_leaver_exports", None, exports, keep=True)
        bits = session.polars(session.run("history_leavers_bits", None, relations))
    return general, bits


@pytest.mark.parametrize("seed", range(16))
def test_bit_sets_give_the_rows_of_the_cycle_by_cycle_statement(seed: int) -> None:
    general, bits = both_forms(drawn(seed))
    assert general.height > 0
    assert bits.schema == general.schema
    assert bits.rows() == general.rows()


@pytest.mark.parametrize("seed", range(8))
def test_leavers_come_ordered_by_pair_open_first_then_name_and_id(seed: int) -> None:
    # per pair, open leavers first, the longest open first, then by name (NULLs last) and id, strings
    # by their bytes ("Ann" < "Zed" < "an" < "ann" < "ann " < "zoë" < "ánn"): polars' sort is the
    # oracle. Two rows equal in every column sorted on are one leaver's with one name: equal throughout.
    relations = drawn(seed)
    renamed = pl.col("user_name").str.extract(r"(\d+)$").cast(pl.Int64)
    shift = pl.when(pl.col("user_name").str.starts_with("m")).then(3).otherwise(0)
    name = pl.lit(pl.Series(NAMES)).get((renamed + shift) % len(NAMES))
    relations["source_users"] = relations["source_users"].with_columns(name.alias("user_name"))
    general, bits = both_forms(relations)
    keys = ["source", "target", "still_open", "open_cycles", "user_name", "source_id"]
    descending = [False, False, True, True, False, False]
    assert bits.height > 0
    assert bits.rows() == general.rows()
    assert bits.rows() == bits.sort(keys, descending=descending, nulls_last=True).rows()
    assert set(bits["user_name"]) & {"Ann", "ann", "ánn"}  # the draw named them as meant
