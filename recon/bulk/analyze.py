"""``recon bulk analyze``: which operations of a bulk run really landed in the target.

Each request operation is paired with its result (:mod:`recon.bulk.records`), its expected
effect is derived (:mod:`recon.bulk.expect`), and ``sql/bulk_outcomes.sql`` checks the
effects against the target's export taken after the run. Outcomes:

``applied`` (reported ok, effect visible) · ``reported_ok_not_applied`` · ``failed`` ·
``failed_but_applied`` (reported an error, effect visible) · ``not_attempted`` (stopped by
failOnErrors, or not sent) · ``unverified`` (reported ok, nothing the export can show) ·
``unconfirmed`` (no usable answer recorded; ``visible`` says what is true).

Writes ``bulk_outcomes.parquet`` + ``summary.json`` into the run folder.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from recon.bulk.exchanges import (
    LogEntry,
    last_recorded_at,
    read_json_file,
    read_json_with_text,
    read_log,
    read_text,
    records_of,
)
from recon.bulk.expect import Expectation, Lookup, Members, Segment, check_segments, lookup, value_met
from recon.bulk.model import BULK_ID_PREFIX, may_refer, parse_request, parse_response
from recon.bulk.paths import new_run_id, run_dir
from recon.bulk.records import Exchange, OpRecord, operation_records
from recon.capabilities import load_capabilities
from recon.collector import gc_paused
from recon.content import ContentRules, content_rules
from recon.engine import Parquet, open_session
from recon.errors import UsageError
from recon.store import ExportRef, Store, atomic_write_bytes, atomic_write_json

__all__ = [
    "OUTCOMES",
    "UNAPPLIED",
    "AnalyzeSummary",
    "analyze_files",
    "analyze_records",
    "outcome_frame",
]

OUTCOMES = (
    "applied",
    "reported_ok_not_applied",
    "failed",
    "failed_but_applied",
    "not_attempted",
    "unverified",
    "unconfirmed",
)
UNAPPLIED = frozenset({"reported_ok_not_applied", "failed", "not_attempted", "unconfirmed"})

_OPS_SCHEMA = {
    "seq": pl.Int64,
    "label": pl.String,
    "op_index": pl.Int32,
    "bulk_id": pl.String,
    "method": pl.String,
    "path": pl.String,
    "resource_type": pl.String,
    "resource_id": pl.String,
    "lookup_attribute": pl.String,
    "lookup_value": pl.String,
    "lookup_case_exact": pl.Boolean,
    "version": pl.String,
    "reported": pl.String,
    "status": pl.Int32,
    "location": pl.String,
    "response_version": pl.String,
    "scim_type": pl.String,
    "detail": pl.String,
    "note": pl.String,
}
_EXPECT_SCHEMA = {
    "seq": pl.Int64,
    "check_no": pl.Int32,
    "check_kind": pl.String,
    "attribute": pl.String,
    "expected": pl.String,
    "member_id": pl.String,
    "value_met": pl.Boolean,
    "actual": pl.String,
}


@dataclass(frozen=True)
class AnalyzeSummary:
    """What ``bulk analyze`` found for one run."""

    system: str
    run_id: str
    run_dir: Path
    export_cycle: str
    operations: int
    outcomes: dict[str, int]
    unapplied: int
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The object written to ``summary.json``."""
        return {
            "system": self.system,
            "run": self.run_id,
            "export_cycle": self.export_cycle,
            "operations": self.operations,
            "outcomes": self.outcomes,
            "unapplied": self.unapplied,
            "warnings": list(self.warnings),
            "outcomes_file": str(self.run_dir / "bulk_outcomes.parquet"),
            **self.extra,
        }


def _frames(
    records: Sequence[OpRecord],
) -> tuple[pl.DataFrame, _Checks, list[str | None]]:
    """The operations' table, every operation's checks (as columns), and each one's resource type."""
    built = _Built()
    for record in records:
        built.add(record)
    return built.frames()


class _Built:
    """The operations' table and checks, made record by record: ``bulk analyze`` of request and
    response files adds each file's records as it reads them, and drops them (a 1M-user run's
    parsed requests were 600 MB alive at once: 262,000 page faults against 93,000 read this way).

    A record whose path names ``bulkId:X`` and that has no resource id is located like the POST
    that created X (its lookup): which POST that is is known only once every record is added."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []  # the table's columns but the three of the lookup
        self.found: list[Lookup | None] = []
        self.lookups: dict[str, Lookup | None] = {}  # a POST's bulkId -> its lookup (the last POST's)
        self.pending: list[tuple[int, str]] = []  # (row, bulkId) located by that POST's lookup
        self.checks = _Checks()
        self.types: list[str | None] = []

    def add(self, record: OpRecord) -> None:
        """Add one operation's row and checks (numbered after the ones added before)."""
        seq = len(self.rows) + 1
        op, result = record.operation, record.result
        found = lookup(record)
        if op.method == "POST" and op.bulk_id is not None:
            self.lookups[op.bulk_id] = found
        path_id = op.resource_id or ""
        if found is None and record.resource_id is None and path_id.startswith(BULK_ID_PREFIX):
            self.pending.append((seq - 1, path_id[len(BULK_ID_PREFIX) :]))
        self.found.append(found)
        self.rows.append(
            (
                seq,
                record.label,
                record.op_index,
                op.bulk_id,
                op.method,
                op.path,
                record.resource_type,
                record.resource_id,
                op.version,
                record.reported,
                result.status if result else None,
                result.location if result else None,
                result.version if result else None,
                result.scim_type if result else None,
                result.detail if result else None,
                record.note,
            )
        )
        self.types.append(record.resource_type)
        segments = check_segments(record)
        if segments:
            self.checks.add(seq, segments)

    def frames(self) -> tuple[pl.DataFrame, _Checks, list[str | None]]:
        """The operations' table, their checks and resource types (the rows are handed over)."""
        found = self.found
        for row, bulk_id in self.pending:
            found[row] = self.lookups.get(bulk_id)
        rows, self.rows = self.rows, []
        if not rows:
            return pl.DataFrame(schema=_OPS_SCHEMA), self.checks, self.types
        columns: list[Any] = list(zip(*rows, strict=True))
        del rows
        columns[8:8] = [
            [f.attribute if f else None for f in found],
            [f.value if f else None for f in found],
            [f.case_exact if f else None for f in found],
        ]
        ops = pl.DataFrame(
            [
                pl.Series(name, values, dtype=dtype)
                for (name, dtype), values in zip(_OPS_SCHEMA.items(), columns, strict=True)
            ]
        )
        return ops, self.checks, self.types


class _Checks:
    """Every check of every operation, as the columns of ``bulk_expectations``: the single checks
    kept as their :class:`Expectation` tuples (columns taken from them at the end, not appended
    one by one: a 1M-user analysis makes 854,500 of them), the membership runs as id lists (490,000
    memberships). The table lists the single checks, then the membership checks: each row names
    its operation and number, and ``sql/bulk_outcomes.sql`` reads them as a set."""

    def __init__(self) -> None:
        self.singles: list[Expectation] = []
        self.single_seq: list[int] = []
        self.single_no: list[int] = []
        self.member_seq: list[int] = []
        self.member_no: list[int] = []
        self.member_kind: list[str] = []
        self.member_ids: list[str] = []
        # seq -> (index of its first single check, its checks): where each operation's value checks are
        self.valued: dict[int, tuple[int, list[Segment]]] = {}

    def add(self, seq: int, segments: list[Segment]) -> None:
        """Append the checks of operation ``seq``, numbered from 1 in order."""
        first = len(self.singles)
        number = 1
        has_value = False
        for segment in segments:
            if isinstance(segment, Members):
                ids = segment.member_ids
                count = len(ids)
                self.member_seq.extend(repeat(seq, count))
                self.member_no.extend(range(number, number + count))
                self.member_kind.extend(repeat(segment.check, count))
                self.member_ids.extend(ids)
                number += count
                continue
            has_value = has_value or segment.check == "value"
            self.singles.append(segment)
            self.single_no.append(number)
            number += 1
        self.single_seq.extend(repeat(seq, len(self.singles) - first))
        if has_value:
            self.valued[seq] = (first, segments)

    def value_seqs(self) -> list[int]:
        """The operations with a value check (only their resources' raw JSON is read)."""
        return list(self.valued)

    def frame(self, raws: dict[int, str], types: list[str | None], rules: ContentRules) -> pl.DataFrame:
        """The checks' table, each value check decided on its resource's raw JSON by recon.content."""
        singles = self.singles
        met: list[bool | None] = [None] * len(singles)
        actual: list[str | None] = [None] * len(singles)
        for seq, raw in raws.items():
            valued = self.valued.get(seq)
            resource = _resource(raw)
            if valued is None or resource is None:
                continue
            row, segments = valued
            for segment in segments:
                if isinstance(segment, Members):
                    continue
                if segment.check == "value":
                    met[row], actual[row] = value_met(segment, resource, types[seq - 1] or "User", rules)
                row += 1
        schema = _EXPECT_SCHEMA
        single_columns: dict[str, list[Any]] = {
            "seq": self.single_seq,
            "check_no": self.single_no,
            "check_kind": [check[0] for check in singles],
            "attribute": [check[1] for check in singles],
            "expected": [check[2] for check in singles],
            "member_id": [check[3] for check in singles],
            "value_met": met,
            "actual": actual,
        }
        members = len(self.member_ids)
        member_columns: dict[str, Any] = {
            "seq": self.member_seq,
            "check_no": self.member_no,
            "check_kind": self.member_kind,
            "member_id": self.member_ids,
        }
        return pl.concat(
            [
                pl.DataFrame(
                    [pl.Series(name, single_columns[name], dtype=dtype) for name, dtype in schema.items()]
                ),
                pl.DataFrame(
                    [
                        pl.Series(name, member_columns[name], dtype=dtype)
                        if name in member_columns
                        else pl.repeat(None, members, dtype=dtype, eager=True).alias(name)
                        for name, dtype in schema.items()
                    ]
                ),
            ],
            rechunk=False,
        )


def _resource(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}  # raw that is not JSON shows no value
    return parsed if isinstance(parsed, dict) else {}


def outcome_frame(
    records: Sequence[OpRecord],
    target: ExportRef,
    *,
    temp_dir: Path | None = None,
    rules: ContentRules | None = None,
) -> pl.DataFrame:
    """One row per operation: the request, the reported result, and the outcome in ``target``.

    ``rules``: the target's content rules (:func:`recon.content.content_rules`; default RFC 7643).
    """
    with gc_paused():
        return _outcome_frame(_frames(records), target, temp_dir=temp_dir, rules=rules)


def _outcome_frame(
    frames: tuple[pl.DataFrame, _Checks, list[str | None]],
    target: ExportRef,
    *,
    temp_dir: Path | None,
    rules: ContentRules | None,
) -> pl.DataFrame:
    """:func:`outcome_frame` of the operations' table and checks (made by :class:`_Built`)."""
    ops, checks, types = frames
    value_seqs = pl.DataFrame({"seq": checks.value_seqs()}, schema={"seq": pl.Int64})
    tables = {
        "target_users": Parquet.of(target.table("users")),
        "target_groups": Parquet.of(target.table("groups")),
    }
    with open_session(temp_dir=temp_dir) as session:
        located = session.run(
            "bulk_located", None, {"bulk_ops": ops, "bulk_value_seqs": value_seqs, **tables}, keep=True
        )
        found = session.polars(located).filter(pl.col("raw").is_not_null())
        raws = dict(zip(found["seq"].to_list(), found["raw"].to_list(), strict=True))
        del found
        expected = checks.frame(raws, types, rules or content_rules())
        del raws
        outcomes = session.run(
            "bulk_outcomes",
            None,
            {
                "bulk_ops": ops,
                "bulk_located": located,
                "bulk_expectations": expected,
                **tables,
                "target_memberships": Parquet.of(target.table("memberships")),
            },
        )
        return session.polars(outcomes)


def _target_export(store: Store, system: str, cycle: str | None) -> ExportRef:
    if cycle is not None:
        return store.complete_export(system, cycle)
    return store.latest_complete(system)


def analyze_records(
    store: Store,
    system: str,
    records: Sequence[OpRecord],
    *,
    run_id: str,
    cycle: str | None = None,
    warnings: Iterable[str] = (),
    extra: dict[str, Any] | None = None,
    run_finished: str | None = None,
) -> tuple[AnalyzeSummary, pl.DataFrame]:
    """Classify ``records`` against ``system``'s export and write the outcome table + summary.

    ``run_finished`` (UTC ISO text): when the export started before it, a warning says the
    export cannot show the run's effects.
    """
    return _analyze(
        store,
        system,
        records,
        run_id=run_id,
        cycle=cycle,
        warnings=warnings,
        extra=extra,
        run_finished=run_finished,
    )


def _analyze(
    store: Store,
    system: str,
    records: Sequence[OpRecord] | _Built,
    *,
    run_id: str,
    cycle: str | None,
    warnings: Iterable[str],
    extra: dict[str, Any] | None,
    run_finished: str | None,
) -> tuple[AnalyzeSummary, pl.DataFrame]:
    """:func:`analyze_records` of the records, or of their table and checks already made."""
    target = _target_export(store, system, cycle)
    warnings = list(warnings)
    started = target.manifest().started
    if run_finished and started and _utc(started) < _utc(run_finished):
        warnings.append(
            f"the export of {system} cycle {target.cycle} started at {started}, before the run's last answer "
            f"({run_finished}): what the run changed may show as not applied; take a new export "
            f"(recon extract --system {system}) and analyze again"
        )
    folder = run_dir(store, system, run_id)
    rules = content_rules(load_capabilities(store, system))
    with gc_paused():
        frames = records.frames() if isinstance(records, _Built) else _frames(records)
        frame = _outcome_frame(frames, target, temp_dir=store.temp_dir, rules=rules)
        del frames
    counts = Counter(frame["outcome"].to_list())
    outcomes = {name: counts.get(name, 0) for name in OUTCOMES}
    summary = AnalyzeSummary(
        system=system,
        run_id=run_id,
        run_dir=folder,
        export_cycle=target.cycle,
        operations=frame.height,
        outcomes=outcomes,
        unapplied=sum(counts.get(name, 0) for name in UNAPPLIED),
        warnings=tuple(warnings),
        extra=dict(extra or {}),
    )
    buffer = io.BytesIO()
    frame.drop("seq").write_parquet(buffer, compression="zstd")
    atomic_write_bytes(folder / "bulk_outcomes.parquet", buffer.getvalue())
    atomic_write_json(folder / "summary.json", summary.to_json())
    return summary, frame


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def analyze_files(
    store: Store,
    system: str,
    *,
    pairs: Sequence[tuple[Path, Path]] = (),
    logs: Sequence[Path] = (),
    cycle: str | None = None,
    run_id: str | None = None,
) -> tuple[AnalyzeSummary, pl.DataFrame]:
    """Analyze request/response file pairs and NDJSON logs against ``system``'s latest export.

    The inputs are copied into the run folder as ``exchanges.ndjson`` so the analysis can be
    repeated with ``--log``.
    """
    if not pairs and not logs:
        raise UsageError("give --request/--response pairs or --log files to analyze")
    _target_export(store, system, cycle)  # fail before writing anything
    with gc_paused():  # a 1M-user run's requests are millions of acyclic dicts (see recon.collector)
        return _analyze_files(store, system, pairs, logs, cycle, run_id)


def _analyze_files(
    store: Store,
    system: str,
    pairs: Sequence[tuple[Path, Path]],
    logs: Sequence[Path],
    cycle: str | None,
    run_id: str | None,
) -> tuple[AnalyzeSummary, pl.DataFrame]:
    lines: list[bytes] = []
    exchanges: list[Exchange] = []
    # request/response files alone: each file's records made into table rows and checks as it is
    # read, its parsed JSON dropped (what would raise is raised once every file is read, as when
    # the records are paired after reading them all); with logs, whose retries drop earlier records,
    # every record first
    built = _Built() if not logs else None
    created: dict[str, str] = {}
    failed: Exception | None = None
    for request_path, response_path in pairs:
        request_obj, request_text = read_json_with_text(request_path)
        response_obj = read_json_file(response_path)
        request = parse_request(request_obj, str(request_path), unreferenced=not may_refer(request_text))
        response = parse_response(response_obj, str(response_path))
        label = response_path.name
        lines.append(
            orjson.dumps(
                {"type": "exchange", "label": label, "request": request_obj, "response": response_obj}
            )
            + b"\n"
        )
        del request_obj, request_text, response_obj
        if built is None:
            exchanges.append(Exchange(label, request, response))
        elif failed is None:
            try:
                records = operation_records(Exchange(label, request, response), created)
            except Exception as exc:  # raised below, after the other files are read
                failed = exc
                continue
            for record in records:
                built.add(record)
            del records, request, response  # freed before the next file is parsed
    if failed is not None:
        raise failed
    source: Sequence[OpRecord] | _Built
    if built is None:
        entries: list[LogEntry] = list(exchanges)
        del exchanges
        for log in logs:
            entries.extend(read_log(log))
            lines.extend(line.encode("utf-8") + b"\n" for line in read_text(log).splitlines() if line.strip())
        source = list(records_of(entries))  # raises on a malformed response before anything is written
        del entries  # what the records do not hold (e.g. members before their bulkId: was resolved)
    else:
        source = built
    run = run_id or new_run_id(store, system)
    folder = run_dir(store, system, run)
    atomic_write_bytes(folder / "exchanges.ndjson", b"".join(lines))
    del lines  # freed for what the analysis builds next
    inputs = [f"{a} + {b}" for a, b in pairs] + [str(p) for p in logs]
    finished = max((t for t in (last_recorded_at(log) for log in logs) if t), default=None)
    return _analyze(
        store,
        system,
        source,
        run_id=run,
        cycle=cycle,
        warnings=(),
        extra={"inputs": inputs},
        run_finished=finished,
    )
