"""``recon validate --system NAME``: every resource of an export against its declared schemas.

Steps (all set work in ``sql/validate_*.sql``):

1. :mod:`recon.validate.represent`: one representative per resource *signature* (the compiled
   walker of :mod:`recon.validate.signatures` reads every ``raw`` once); resources with one
   signature get the same findings. Meanwhile DuckDB checks userName uniqueness
   (``validate_user_name_collisions``) over the ``user_name`` column.
2. ``validate_shapes`` groups the representatives by shape (``json_structure`` + the URNs in
   ``schemas`` + the value facts); their values go through cheap tests first, the exact checks
   only where a test fails.
3. Each shape is walked once in Python into observation rows (:mod:`recon.validate.shapes`)
   and ``validate_shape_findings`` compares them with the declared attributes and schemas;
   ``validate_fact_findings`` / ``validate_element_findings`` turn the value facts of each shape
   (dateTime format, canonical values, empty required values, primaries) into findings.
   Rare representatives are read again and regrouped (``validate_recheck_shapes``, ``_recheck``):
   the values of a name spelled in another case (``Emails``) from a copy spelled as declared
   (:mod:`recon.validate.recase`), and the structure of a resource whose ``""`` or ``[{}]`` may
   have caused a finding from a text where they are null (both are unassigned).
4. ``validate_findings`` expands shape findings to the representatives of each shape and from
   them to the resources they stand for, and writes ``schema_findings.parquet`` and
   ``summary.json`` under ``<data>/validation/``.

The walker over every ``raw`` is most of the time (benchmarks/results/validate.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from recon import __version__
from recon.capabilities import load_capabilities
from recon.config import Config
from recon.engine import Parquet, Session, Table, open_session
from recon.findings import Thresholded
from recon.store import ExportRef, Store, atomic_write_json, read_json_object
from recon.validate.declared import Declared, attributes_table, declared_for, schemas_table
from recon.validate.layout import FINDINGS_FILE, SUMMARY_FILE, validation_dir
from recon.validate.recase import declared_spelling
from recon.validate.represent import represent
from recon.validate.rules import EXPORT_KINDS, SCHEMA_FINDINGS, SEVERITIES, Threshold, thresholds_for
from recon.validate.shapes import observations_table
from recon.validate.specs import value_checks

__all__ = ["ValidationSummary", "declared_model", "read_summary", "schema_findings_count", "validate_export"]


@dataclass(frozen=True)
class ValidationSummary(Thresholded):
    """What validating one export found (also written as ``summary.json``)."""

    system: str
    cycle: str
    export_path: Path
    findings_path: Path
    summary_path: Path
    resources: Mapping[str, int]
    shapes: int
    declared_from: str
    declared_schemas: Mapping[str, tuple[str, ...]]
    user_name_case_exact: bool
    total: int
    by_kind: Mapping[str, int]
    by_severity: Mapping[str, int]
    thresholds: tuple[Threshold, ...]
    examples: Mapping[str, tuple[Mapping[str, str | None], ...]]
    census: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    export_finished: str | None = None
    seconds: float = 0.0
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The summary as written to ``summary.json`` and printed by ``--json``."""
        return {
            "system": self.system,
            "cycle": self.cycle,
            "export": str(self.export_path),
            "export_finished": self.export_finished,
            "findings": str(self.findings_path),
            "resources": dict(self.resources),
            "shapes": self.shapes,
            "declared": {
                "from": self.declared_from,
                "schemas": {k: list(v) for k, v in self.declared_schemas.items()},
                "user_name_case_exact": self.user_name_case_exact,
            },
            **self.verdict_json(),
            "examples": {kind: [dict(row) for row in rows] for kind, rows in self.examples.items()},
            "census": {k: dict(v) for k, v in self.census.items()},
            "seconds": round(self.seconds, 3),
            "validated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "tool_version": self.tool_version,
        }


def declared_model(store: Store, system: str) -> Declared:
    """The declared schemas of ``system``: its stored /Schemas over RFC 7643 built-ins."""
    return declared_for(load_capabilities(store, system))


def validate_export(
    store: Store,
    system: str,
    cycle: str | None = None,
    config: Config | None = None,
    *,
    memory_limit: str | None = None,
) -> ValidationSummary:
    """Validate the full export of ``system`` at ``cycle`` (default: the latest complete one).

    Writes ``<data>/validation/system=<s>/cycle=<c>/schema_findings.parquet`` and
    ``summary.json`` (published together) and returns the summary.
    """
    started = time.perf_counter()
    ref = store.complete_export(system, cycle) if cycle is not None else store.latest_complete(system)
    declared = declared_model(store, system)
    with open_session(temp_dir=store.temp_dir, memory_limit=memory_limit) as session:
        relations = _inputs(ref)
        checks = value_checks(declared)
        params = checks.params()
        declared_tables = {
            "declared_attributes": session.bind(attributes_table(declared)),
            "declared_schemas": session.bind(schemas_table(declared)),
        }
        case_exact = declared.user_name_case_exact()
        # userName collisions read other columns than the walker: the engine finds them meanwhile
        with ThreadPoolExecutor(1) as meanwhile:
            colliding = meanwhile.submit(_collisions, session.worker(), relations["users"], case_exact)
            represented = represent(session, ref, params)
            collisions = session.bind(colliding.result())
        representatives = represented.representatives
        shapes = session.run("validate_shapes", params, represented.inputs, keep=True)
        structures, observations, shape_findings = _structural(session, shapes, declared_tables)
        census = _census(session, _weighed(session, shapes, representatives), observations)
        recheck = session.tuples(
            session.run(
                "validate_recheck_shapes",
                None,
                {"shape_findings": shape_findings, "observations": observations},
            )
        )
        if recheck:  # rare: see _recheck
            recase = [int(n) for n, again, _ in recheck if again]
            nulls = [int(n) for n, _, again in recheck if again]
            shapes = _recheck(session, shapes, recase, nulls, represented.inputs, params, declared)
            structures, observations, shape_findings = _structural(session, shapes, declared_tables)
        specs = session.bind(checks.specs)
        fact_findings = session.run(
            "validate_fact_findings", None, {"shapes": shapes, "value_specs": specs}, keep=True
        )
        element_findings = session.run(
            "validate_element_findings", None, {"shapes": shapes, "value_specs": specs}, keep=True
        )
        # regrouping moves resources between shapes, never in or out: the weights count them
        resources = {"User": 0, "Group": 0}
        counted = session.run("validate_resource_counts", None, {"representatives": representatives})
        for resource_type, count in session.tuples(counted):
            resources[str(resource_type)] += int(count)
        findings = session.run(
            "validate_findings",
            None,
            {
                "shapes": shapes,
                "shape_findings": shape_findings,
                "fact_findings": fact_findings,
                "element_findings": element_findings,
                "collisions": collisions,
                "members": represented.members,
            },
        )
        final_dir = validation_dir(store, system, ref.cycle)
        with store.publishing(final_dir) as staging:
            session.write_parquet(findings, staging / FINDINGS_FILE, SCHEMA_FINDINGS)
            by_kind, by_severity, examples = _counts(session, staging / FINDINGS_FILE)
            configured = config.thresholds if config is not None else {}
            summary = ValidationSummary(
                system=system,
                cycle=ref.cycle,
                export_path=ref.path,
                findings_path=final_dir / FINDINGS_FILE,
                summary_path=final_dir / SUMMARY_FILE,
                resources=resources,
                shapes=len(structures),
                declared_from=declared.source,
                declared_schemas={
                    rt: (declared.core(rt), *declared.extensions(rt)) for rt in ("User", "Group")
                },
                user_name_case_exact=case_exact,
                total=sum(by_kind.values()),
                by_kind=by_kind,
                by_severity=by_severity,
                thresholds=thresholds_for(configured, by_kind, EXPORT_KINDS),
                examples=examples,
                census=census,
                export_finished=ref.manifest().finished,
                seconds=time.perf_counter() - started,
            )
            atomic_write_json(staging / SUMMARY_FILE, summary.to_json())
    return summary


def _inputs(ref: ExportRef) -> dict[str, Parquet]:
    return {"users": Parquet.of(ref.table("users")), "groups": Parquet.of(ref.table("groups"))}


def _collisions(worker: Session, users: Parquet, case_exact: bool) -> pa.Table:
    """userName collisions (``validate_user_name_collisions``), on a worker session of their own."""
    with worker:
        return worker.arrow(
            worker.run("validate_user_name_collisions", {"case_exact": case_exact}, {"users": users})
        )


def _weighed(session: Session, shapes: Table, representatives: Table) -> Table:
    """The shapes with ``resources`` counting the resources their representatives stand for."""
    return session.run(
        "validate_shape_weights", None, {"shapes": shapes, "representatives": representatives}, keep=True
    )


def _structural(
    session: Session, shapes: Table, declared_tables: Mapping[str, Table]
) -> tuple[list[tuple[Any, ...]], Table, Table]:
    """Each shape's structure, its observation rows, and the structural findings of the shapes."""
    structures = session.tuples(session.run("validate_shape_structures", None, {"shapes": shapes}))
    observations = session.bind(observations_table((int(n), str(s)) for n, s in structures))
    shape_findings = session.run(
        "validate_shape_findings",
        None,
        {"shapes": shapes, "observations": observations, **declared_tables},
        keep=True,
    )
    return structures, observations, shape_findings


def _recheck(
    session: Session,
    shapes: Table,
    recase: list[int],
    nulls: list[int],
    relations: Mapping[str, Table],
    params: Mapping[str, Any],
    declared: Declared,
) -> Table:
    """The shapes, with some resources read again and regrouped.

    ``validate_shapes`` reads values at exact JSON paths, so the values of a name spelled in
    another case (``Emails``) are read from a copy spelled as declared (the ``recase`` shapes);
    ``json_structure`` sees ``""`` as a string and an array of ``{}`` as mixed types, so a
    resource of the ``nulls`` shapes holding them gets its structure from a text where they are null.
    """
    again = session.run(
        "validate_recheck_resources",
        {"recase": recase, "nulls": nulls},
        {"shapes": shapes, **relations},
        keep=True,
    )
    copies: dict[str, tuple[list[str], list[str]]] = {"User": ([], []), "Group": ([], [])}
    for resource_type, rid, raw in session.tuples(
        session.run("validate_recheck_recased", None, {"again": again})
    ):
        ids, raws = copies[str(resource_type)]
        ids.append(str(rid))
        raws.append(orjson.dumps(declared_spelling(orjson.loads(raw), declared, str(resource_type))).decode())
    value_shapes = session.run(
        "validate_shapes",
        params,
        {
            name: session.bind(
                pa.table({"id": pa.array(ids, pa.string()), "raw": pa.array(raws, pa.string())})
            )
            for name, (ids, raws) in (("users", copies["User"]), ("groups", copies["Group"]))
        },
        keep=True,
    )
    return session.run(
        "validate_shapes_recheck",
        None,
        {"shapes": shapes, "again": again, "value_shapes": value_shapes},
        keep=True,
    )


def _census(session: Session, shapes: Table, observations: Table) -> dict[str, dict[str, int]]:
    census: dict[str, dict[str, int]] = {"User": {}, "Group": {}}
    rows = session.run("validate_census", None, {"shapes": shapes, "observations": observations})
    for resource_type, path, count in session.tuples(rows):
        census.setdefault(str(resource_type), {})[str(path)] = int(count)
    return census


def _counts(
    session: Session, findings_path: Path
) -> tuple[dict[str, int], dict[str, int], dict[str, tuple[dict[str, str | None], ...]]]:
    by_kind: dict[str, int] = {}
    by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    examples: dict[str, list[dict[str, str | None]]] = {}
    counted: set[tuple[str, str]] = set()
    rows = session.tuples(session.run("validate_counts", None, {"findings": Parquet.of(findings_path)}))
    for kind, severity, count, resource_type, rid, attribute, detail in rows:
        if (kind, severity) not in counted:
            counted.add((kind, severity))
            by_kind[kind] = by_kind.get(kind, 0) + int(count)
            by_severity[severity] = by_severity.get(severity, 0) + int(count)
        kind_examples = examples.setdefault(kind, [])
        if len(kind_examples) < 3:
            kind_examples.append(
                {"resource_type": resource_type, "id": rid, "attribute": attribute, "detail": detail}
            )
    return by_kind, by_severity, {k: tuple(v) for k, v in examples.items()}


def read_summary(store: Store, system: str, cycle: str) -> dict[str, Any] | None:
    """The stored ``summary.json`` of a validated export, or None when it was never validated."""
    path = validation_dir(store, system, cycle) / SUMMARY_FILE
    return read_json_object(path)


def schema_findings_count(store: Store, system: str, cycle: str) -> int | None:
    """How many schema findings the export of ``system`` at ``cycle`` has; None when never validated."""
    summary = read_summary(store, system, cycle)
    if summary is None:
        return None
    total = summary.get("total")
    return int(total) if isinstance(total, int) else None
