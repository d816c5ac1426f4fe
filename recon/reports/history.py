"""Drift over sync cycles, read from every findings and delta-findings file on disk.

:func:`history` reads the Hive partitions of CONTRACT §3 directly (no second copy) and
returns a frozen :class:`HistorySummary`:

* ``cycles``: per system pair and findings cycle, findings per severity; ``new`` (first
  seen in that cycle), ``persisting``, ``resolved`` (present in the previous cycle, gone now)
  and ``max_age``.
* ``counts``: findings per pair, cycle, kind and severity.
* ``open_drift``: the findings of each pair's latest cycle with their **open-drift age**. A
  finding's identity across cycles is (source, target, kind, source_id, target_id, group_id,
  target_group_id, attribute); its age is the number of consecutive findings cycles of the
  pair, up to and including that cycle, in which it appears (1 = new). A cycle without the
  finding breaks the run.
* ``leavers`` and ``latency``: **deprovisioning latency** per target (see below).
* ``completeness`` and ``missed``: delta filter completeness per system and head cycle, and
  the changes the deltas missed by likely cause.

Deprovisioning latency, per (source, target) pair, counted over the pair's findings cycles that
have a complete full export of the source:

* a *leaver* is a source user that some source export shows with ``active=false``;
  ``left_cycle`` is the first such cycle (a user already inactive in the first cycle on disk
  gets that cycle, a lower bound);
* the leaver *still has access* in a cycle when that cycle has a ``delayed_deactivation``
  finding for it, or, from the cycle the source no longer exports it (``deleted_cycle``), an
  ``orphaned_in_target`` finding of severity other than ``low`` (an active account) on a
  target account it was matched to while inactive;
* ``resolved_cycle`` is the first cycle at or after ``left_cycle`` in which it has no access
  (the target deactivated or removed the account, or there never was one);
* ``latency_cycles`` = cycles from ``left_cycle`` to ``resolved_cycle`` (0: deactivated in the
  same sync cycle); ``latency_hours`` from the cycle ids' timestamps;
* a leaver with access at the latest cycle is *still open*; ``open_cycles`` counts the cycles
  in which it kept access so far.

The readers of other recorded facts (capabilities, probe results, summary.json counts, the
notebooks' data folder) live in :mod:`recon.reports.recorded` and are re-exported here.

``latency`` gives per pair the nearest-rank p50 and p95 and the max over resolved leavers (in
cycles and hours), the number still open and the oldest still open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from recon.config.toml import EngineConfig
from recon.engine import Parquet, Session, Table, open_session
from recon.errors import DataNotFound, InputError
from recon.findings import DELTA_KINDS, SEVERITIES
from recon.reports.recorded import (
    FINDING_KINDS,
    capabilities_overview,
    findings_cycles,
    findings_summary_counts,
    has_findings,
    partition_values,
    probe_results,
)
from recon.store import Store, check_name, read_json_object

__all__ = [
    "CYCLES_SCHEMA",
    "DELTA_KINDS",
    "FINDING_KINDS",
    "SEVERITIES",
    "HistorySummary",
    "capabilities_overview",
    "cycle_time",
    "findings_summary_counts",
    "has_findings",
    "history",
    "probe_results",
]

_TIME = pl.Datetime("us", "UTC")
# The cycles frame the history SQL files take as ``cycles`` (made by history() from the findings).
CYCLES_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "target": pl.String,
    "cycle": pl.String,
    "cycle_index": pl.Int64,
    "cycle_time": _TIME,
    "cycle_epoch": pl.Int64,
    "cycle_rank": pl.Int64,
}
_DELTA_SUMMARY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "system": pl.String,
    "base": pl.String,
    "head": pl.String,
    "head_time": _TIME,
    "completeness": pl.Float64,
}
_FINDINGS_HIVE = {"source": "VARCHAR", "target": "VARCHAR", "cycle": "VARCHAR"}
_EXPORT_HIVE = {"system": "VARCHAR", "cycle": "VARCHAR", "kind": "VARCHAR"}
_DELTAS_HIVE = {"system": "VARCHAR", "head": "VARCHAR"}
_LATENCY_READS = (
    "source",
    "target",
    "still_open",
    "latency_cycles",
    "latency_hours",
    "open_cycles",
    "open_hours",
)
"""The leavers' columns ``history_latency`` reads: only these are handed to the engine (a frame is
bound by copying it, and the ids, names and cycle ids of 400,000 leavers cost 0.035 CPU s there)."""
BIT_SET_CYCLES = 61
"""Sources of at most this many findings cycles (each) get their leavers from
``history_leavers_bits`` (a set of cycles is one 64-bit integer there, bit ``cycle_rank``); longer
histories from ``history_leavers``: the same rows."""


def cycle_time(cycle: str) -> datetime | None:
    """The UTC time of a cycle id written ``YYYYMMDDTHHMMSSZ`` (or ISO 8601), else None."""
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S%z", "%Y%m%d"):
        try:
            parsed = datetime.strptime(cycle, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(cycle)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class HistorySummary:
    """Drift over cycles for the system pairs found on disk (frames described in the module doc)."""

    data_dir: Path
    pairs: tuple[tuple[str, str], ...]
    cycles: pl.DataFrame
    counts: pl.DataFrame
    open_drift: pl.DataFrame
    leavers: pl.DataFrame
    latency: pl.DataFrame
    completeness: pl.DataFrame
    missed: pl.DataFrame

    def latest(self, source: str, target: str) -> dict[str, Any]:
        """The ``cycles`` row of the pair's latest cycle."""
        rows = self.cycles.filter((pl.col("source") == source) & (pl.col("target") == target))
        if rows.is_empty():
            raise DataNotFound(f"no findings cycles for source={source} target={target}")
        return rows.sort("cycle_index").row(-1, named=True)

    def latency_of(self, source: str, target: str) -> dict[str, Any]:
        """The ``latency`` row of a pair."""
        rows = self.latency.filter((pl.col("source") == source) & (pl.col("target") == target))
        if rows.is_empty():
            raise DataNotFound(f"no latency figures for source={source} target={target}")
        return rows.row(0, named=True)

    def still_active(self) -> pl.DataFrame:
        """Leavers that still have an active account in a target at the latest cycle."""
        return self.leavers.filter(pl.col("still_open"))

    def verdicts(self) -> dict[tuple[str, str], str]:
        """A short plain-language verdict per system pair."""
        return {pair: _verdict(self, *pair) for pair in self.pairs}

    def to_json(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values (times as ISO 8601 strings)."""
        return {
            "data_dir": str(self.data_dir),
            "pairs": [
                {"source": source, "target": target, "verdict": verdict}
                for (source, target), verdict in self.verdicts().items()
            ],
            "cycles": _rows(self.cycles),
            "counts": _rows(self.counts),
            "open_drift": _rows(self.open_drift),
            "leavers": _rows(self.leavers),
            "latency": _rows(self.latency),
            "completeness": _rows(self.completeness),
            "missed": _rows(self.missed),
        }


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        out.append(
            {
                key: value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
                for key, value in row.items()
            }
        )
    return out


# -- what is on disk ---------------------------------------------------------------------


def _cycles_frame(
    keys: Iterable[tuple[str, str, str]], ranked_among: Iterable[tuple[str, str, str]] | None = None
) -> pl.DataFrame:
    """Number each pair's cycles 1, 2, ... in id order, with their times and ``cycle_rank``: the
    cycle's rank (1, 2, ... in id order) among the distinct cycles of its source in
    ``ranked_among`` (default ``keys``; it must hold every key), so that frames of some of the
    cycles number a source's cycles as the frame of all of them does."""
    keys = sorted(keys)
    per_source: dict[str, set[str]] = {}
    for src, _, cycle in keys if ranked_among is None else ranked_among:
        per_source.setdefault(src, set()).add(cycle)
    ranks = {
        (src, cycle): rank for src, names in per_source.items() for rank, cycle in enumerate(sorted(names), 1)
    }
    rows: list[dict[str, Any]] = []
    index: dict[tuple[str, str], int] = {}
    for src, tgt, cycle in keys:
        index[(src, tgt)] = index.get((src, tgt), 0) + 1
        when = cycle_time(cycle)
        rows.append(
            {
                "source": src,
                "target": tgt,
                "cycle": cycle,
                "cycle_index": index[(src, tgt)],
                "cycle_time": when,
                "cycle_epoch": int(when.timestamp()) if when else None,
                "cycle_rank": ranks[(src, cycle)],
            }
        )
    return pl.DataFrame(rows, schema=CYCLES_SCHEMA)


# -- the history -------------------------------------------------------------------------


def history(
    store: Store,
    source: str | None = None,
    target: str | None = None,
    *,
    engine: EngineConfig | None = None,
) -> HistorySummary:
    """Drift per cycle and system pair from all findings (and delta findings) under ``store``.

    ``source``/``target`` restrict the pairs (and the delta systems to those two). Raises
    :class:`DataNotFound` when no findings match.
    """
    for name in (source, target):
        if name is not None:
            check_name(name, "system name")
    keys = findings_cycles(store, source, target)
    if not keys:
        wanted = " ".join(f"{k}={v}" for k, v in (("source", source), ("target", target)) if v)
        raise DataNotFound(
            f"no findings{' for ' + wanted if wanted else ''} under {store.findings_root}; "
            "run recon reconcile (or recon demo) first"
        )
    cycles = _cycles_frame(keys)
    findings = Parquet.of(
        *(store.findings_dir(*key) / "findings.parquet" for key in keys), hive_types=_FINDINGS_HIVE
    )
    exports = _exports(store, keys)
    pairs = tuple(dict.fromkeys((src, tgt) for src, tgt, _ in keys))
    # filtered: the delta history of the systems in the selected pairs
    systems = {name for pair in pairs for name in pair} if source or target else None
    # the engine's threads (every core: one thread for all of history() saved ~0.4 CPU s but made
    # users wait 4.5 s instead of 3.0 on a quiet 2-core machine, benchmarks/results/history.md);
    # the findings' statements and the exports' one read different files: on 2 cores they run at
    # the same time, one engine thread each (Session.both_at_once)
    with open_session(temp_dir=store.temp_dir, engine=engine) as session:
        try:
            latest = {(src, tgt): cycle for src, tgt, cycle in keys}  # keys are sorted: the last wins
            latest_findings = Parquet.of(
                *(store.findings_dir(*key, cycle) / "findings.parquet" for key, cycle in latest.items()),
                hive_types=_FINDINGS_HIVE,
            )
            (cycle_rows, counts, open_drift, delayed, completeness, missed), leaver_exports = (
                session.both_at_once(
                    lambda lane: (
                        *_drift(lane, findings, latest_findings, cycles, exports),
                        *_deltas(store, lane, systems),
                    ),
                    lambda lane: _leaver_exports(lane, exports),
                )
            )
            leavers, latency = _latency(session, keys, findings, exports, leaver_exports, delayed)
        except session.errors as exc:  # a truncated or foreign Parquet file: say which folder, one line
            first = str(exc).splitlines()[0]
            raise InputError(f"cannot read the findings under {store.root}: {first}") from exc
    return HistorySummary(
        data_dir=store.root,
        pairs=pairs,
        cycles=cycle_rows,
        counts=counts,
        open_drift=open_drift,
        leavers=leavers,
        latency=latency,
        completeness=completeness,
        missed=missed,
    )


def _drift(
    session: Session, findings: Parquet, latest_findings: Parquet, cycles: pl.DataFrame, exports: _Exports
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Table | None]:
    """The ``cycles``, ``counts`` and ``open_drift`` frames, and for the leavers' bit-set form
    the sets of their delayed_deactivation and orphaned_in_target findings
    (``history_leaver_delayed``, kept; else None).

    One pass over the findings' identity columns gives each identity's span of cycles
    (``spans``: ``history_drift_spans``); the identities in one clean run (most) are aged from
    their spans, only the others row by row (``history_drift_age``), so no statement joins every
    finding row back to its identity. The leavers' findings sets come from the same spans.
    """
    spans = session.run("history_drift_spans", None, {"findings": findings, "cycles": cycles}, keep=True)
    delayed = None
    if exports.bit_sets:  # every cycle_rank (the spans' too) fits a bit set
        relations = {"findings": findings, "cycles": exports.cycles, "drift_spans": spans}
        delayed = session.run("history_leaver_delayed", None, relations, keep=True)
    drift = {"drift_spans": spans, "cycles": cycles}
    aged = session.run("history_drift_age", None, {**drift, "findings": findings}, keep=True)
    drift["aged_findings"] = aged
    counts = session.run("history_counts", None, {**drift, "findings": findings}, keep=True)
    cycle_rows = session.polars(session.run("history_cycles", None, {**drift, "counts": counts}))
    open_drift = session.polars(
        session.run("history_open_drift", None, {**drift, "latest_findings": latest_findings})
    )
    return cycle_rows, session.polars(counts), open_drift, delayed


class _Exports(NamedTuple):
    """The source exports the leavers are read from (:func:`_exports`)."""

    cycles: pl.DataFrame
    """The pairs' cycles that have a complete source export (``cycle_rank`` over all of them)."""
    source_users: Parquet | None
    """Those exports (None: no pair has one)."""
    bit_sets: bool
    """The leavers come from ``history_leavers_bits`` (there are exports, and each source has at
    most :data:`BIT_SET_CYCLES` cycles); else from ``history_leavers``."""


def _exports(store: Store, keys: list[tuple[str, str, str]]) -> _Exports:
    """The cycles of ``keys`` with a complete source export, and those exports."""
    complete: dict[str, set[str]] = {}
    for src in {src for src, _, _ in keys}:
        complete[src] = set(store.cycles(src, "full"))
    usable = [(src, tgt, cycle) for src, tgt, cycle in keys if cycle in complete[src]]
    cycles = _cycles_frame(usable, ranked_among=keys)
    paths = sorted({store.export(src, cycle, "full").table("users") for src, _, cycle in usable})
    if not paths:
        return _Exports(cycles, None, False)
    return _Exports(cycles, Parquet.of(*paths, hive_types=_EXPORT_HIVE), _most_cycles(keys) <= BIT_SET_CYCLES)


def _leaver_exports(session: Session, exports: _Exports) -> Table | None:
    """For the bit-set form, the leavers' sets from the exports (``history_leaver_exports``, kept:
    its joins read their ids with the column statistics of a table); else None. It reads no
    findings: it runs beside :func:`_drift`."""
    if not exports.bit_sets or exports.source_users is None:
        return None
    relations = {"source_users": exports.source_users, "cycles": exports.cycles}
    return session.run("history_leaver_exports", None, relations, keep=True)


def _latency(
    session: Session,
    keys: list[tuple[str, str, str]],
    findings: Parquet,
    exports: _Exports,
    leaver_exports: Table | None,
    delayed: Table | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Leavers and latency per pair, over the cycles that have a complete source export.

    The bit-set form joins the leavers' sets from the exports (``leaver_exports``) with those of
    their findings (``delayed``: ``history_leaver_delayed``)."""
    cycles = exports.cycles
    if leaver_exports is not None and delayed is not None:
        relations: dict[str, Any] = {
            "leaver_exports": leaver_exports,
            "cycles": cycles,
            "leaver_delayed": delayed,
        }
        leavers = session.polars(session.run("history_leavers_bits", None, relations))
    elif exports.source_users is not None:
        relations = {"source_users": exports.source_users, "findings": findings, "cycles": cycles}
        leavers = session.polars(session.run("history_leavers", None, relations))
    else:  # findings without the source exports: no leaver can be told apart
        empty_users = pl.DataFrame(
            schema={"system": pl.String, "cycle": pl.String, "id": pl.String, "user_name": pl.String}
        ).with_columns(pl.lit(None, pl.Boolean).alias("active"))
        relations = {"source_users": empty_users, "findings": findings, "cycles": cycles}
        leavers = session.polars(session.run("history_leavers", None, relations))
    all_cycles = _cycles_frame(keys)  # every pair appears in the latency table, leavers or not
    relations = {"leavers": leavers.select(_LATENCY_READS), "cycles": all_cycles}
    latency = session.polars(session.run("history_latency", None, relations))
    return leavers, latency


def _most_cycles(keys: Iterable[tuple[str, str, str]]) -> int:
    """The most distinct cycles any source has among ``keys`` (its highest ``cycle_rank``)."""
    per_source: dict[str, set[str]] = {}
    for src, _, cycle in keys:
        per_source.setdefault(src, set()).add(cycle)
    return max((len(names) for names in per_source.values()), default=0)


def _deltas(store: Store, session: Session, systems: set[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Completeness per system and head cycle, and missed changes by cause."""
    summaries: list[dict[str, Any]] = []
    paths: list[Path] = []
    names = partition_values(store.deltas_root, "system")
    for system in names:
        if systems is not None and system not in systems:
            continue
        for head in partition_values(store.deltas_dir(system, "x").parent, "head"):
            folder = store.deltas_dir(system, head)
            parquet = folder / "delta_findings.parquet"
            summary = read_json_object(folder / "summary.json")
            if summary is None and not parquet.is_file():
                continue
            if parquet.is_file():
                paths.append(parquet)
            summaries.append(
                {
                    "system": system,
                    "base": _text(summary, "base", "base_cycle"),
                    "head": head,
                    "head_time": cycle_time(head),
                    "completeness": _number(summary, "completeness"),
                }
            )
    delta_summaries = pl.DataFrame(summaries, schema=_DELTA_SUMMARY_SCHEMA)
    if paths:
        delta_findings: Any = Parquet.of(*paths, hive_types=_DELTAS_HIVE)
    else:
        delta_findings = pl.DataFrame(
            schema={
                "system": pl.String,
                "head": pl.String,
                "kind": pl.String,
                "resource_type": pl.String,
                "id": pl.String,
            }
        )
    relations = {"delta_summaries": delta_summaries, "delta_findings": delta_findings}
    completeness = session.polars(session.run("history_delta_cycles", None, relations))
    missed = session.polars(session.run("history_delta_misses", None, {"delta_findings": delta_findings}))
    return completeness, missed


def _text(summary: dict[str, Any] | None, *keys: str) -> str | None:
    for key in keys:
        value = (summary or {}).get(key)
        if value is not None:
            return str(value)
    return None


def _number(summary: dict[str, Any] | None, key: str) -> float | None:
    value = (summary or {}).get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# -- verdicts ----------------------------------------------------------------------------


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _verdict(summary: HistorySummary, source: str, target: str) -> str:
    latest = summary.latest(source, target)
    cycles_on_disk = int(latest["cycle_index"])
    parts = []
    if latest["findings"]:
        severities = ", ".join(f"{latest[s]} {s}" for s in SEVERITIES if latest[s])
        parts.append(
            f"{_n(int(latest['findings']), 'open finding')} at cycle {latest['cycle']} ({severities})"
        )
    else:
        parts.append(f"no open findings at cycle {latest['cycle']}")
    latency = summary.latency_of(source, target)
    if latency["still_open"]:
        parts.append(
            f"{_n(int(latency['still_open']), 'leaver')} still active in {target}, "
            f"oldest {_n(int(latency['oldest_open_cycles']), 'cycle')}"
        )
    elif latency["leavers"]:
        parts.append(f"no leavers still active in {target}")
    if latency["resolved"]:
        parts.append(
            f"deprovisioning took p50 {latency['p50_cycles']}, p95 {latency['p95_cycles']}, "
            f"max {_n(int(latency['max_cycles']), 'cycle')} "
            f"({_n(int(latency['resolved']), 'leaver')} resolved)"
        )
    drift = summary.open_drift.filter((pl.col("source") == source) & (pl.col("target") == target))
    if not drift.is_empty():
        oldest = drift.sort("age", descending=True, maintain_order=True).row(0, named=True)
        if oldest["age"] > 1:
            who = oldest["user_name"] or oldest["group_name"] or oldest["target_id"] or oldest["source_id"]
            parts.append(f"oldest open drift: {oldest['kind']} of {who}, {_n(int(oldest['age']), 'cycle')}")
    return f"{source} → {target} ({_n(cycles_on_disk, 'cycle')}): " + "; ".join(parts) + "."
