"""``recon validate --source A --target B``: the reconcile mapping against both systems.

The ``match`` and ``compare`` attributes of ``[reconcile.A.B]`` (CONTRACT §2; defaults when
not configured) are resolved to RFC 7643 attribute paths and checked against each system's
declared schemas (RFC 7643 built-ins, or its own /Schemas when ``recon discover`` stored
them) and against what each export populates (the attribute census that
``recon validate --system`` records; exports not validated yet are validated first).
userName and primary email values are compared across the two exports for values that
differ only by case. Findings go to ``<data>/validation/source=A/target=B/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from recon import __version__
from recon.attributes import user_attribute
from recon.config import Config, ReconcileConfig
from recon.engine import Parquet, Session, open_session
from recon.errors import ConfigError
from recon.findings import Thresholded
from recon.scim_columns import ENTERPRISE_ATTRIBUTES, is_multi_valued
from recon.store import Store, atomic_write_json
from recon.validate.declared import Declared, attributes_table
from recon.validate.export import ValidationSummary, declared_model, read_summary, validate_export
from recon.validate.layout import MAPPING_FILE, SUMMARY_FILE, mapping_dir
from recon.validate.rfc7643 import ENTERPRISE_USER
from recon.validate.rules import MAPPING_FINDINGS, MAPPING_KINDS, SEVERITIES, Threshold, thresholds_for

__all__ = ["MappingSummary", "attribute_path", "validate_mapping"]

_MAPPED = pa.schema(
    [
        ("position", pa.int32()),
        ("attribute", pa.string()),
        ("role", pa.string()),
        ("source_path", pa.string()),
        ("target_path", pa.string()),
    ]
)
_CENSUS = pa.schema([("resource_type", pa.string()), ("path", pa.string()), ("resources", pa.int64())])
_NAME = r"\$?[A-Za-z][A-Za-z0-9_-]*"
_PATH = re.compile(rf"(?P<attr>{_NAME})(?:\.(?P<sub>{_NAME}))?(?:\[[^\]]*\](?:\.(?P<after>{_NAME}))?)?")
_ENTERPRISE_NAMES = {name.lower() for name in ENTERPRISE_ATTRIBUTES}


@dataclass(frozen=True)
class MappingSummary(Thresholded):
    """What validating one reconcile mapping found (also written as ``summary.json``)."""

    source: str
    target: str
    cycle: str
    findings_path: Path
    summary_path: Path
    attributes: tuple[Mapping[str, Any], ...]
    total: int
    by_kind: Mapping[str, int]
    by_severity: Mapping[str, int]
    thresholds: tuple[Threshold, ...]
    examples: Mapping[str, tuple[Mapping[str, str | None], ...]]
    declared_from: Mapping[str, str] = field(default_factory=dict)
    exports_validated: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The summary as written to ``summary.json`` and printed by ``--json``."""
        return {
            "source": self.source,
            "target": self.target,
            "cycle": self.cycle,
            "findings": str(self.findings_path),
            "attributes": [dict(a) for a in self.attributes],
            "declared": dict(self.declared_from),
            "schema_findings": dict(self.exports_validated),
            **self.verdict_json(),
            "examples": {kind: [dict(row) for row in rows] for kind, rows in self.examples.items()},
            "seconds": round(self.seconds, 3),
            "validated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "tool_version": self.tool_version,
        }


def attribute_path(path: str, where: str = "compare") -> str:
    """The RFC 7643 path whose values a config attribute compares.

    ``emails[primary]`` → ``emails.value``; ``department`` → ``<enterprise URN>:department``;
    ``manager`` → ``<enterprise URN>:manager.value``; ``urn:x:attr.sub`` stays as it is.
    Raises :class:`ConfigError` (naming ``where``) for a path that is not an attribute path.
    """
    user_attribute(path, where)  # the same syntax rules as reconcile
    text = path.strip()
    urn: str | None = None
    rest = text
    if text.lower().startswith("urn:"):
        head = text.split("[", 1)[0]
        cut = head.rfind(":")
        urn, rest = text[:cut], text[cut + 1 :]
    match = _PATH.fullmatch(rest)
    if match is None:
        raise ConfigError(f"{where}: {path!r} is not a SCIM attribute path")
    attr, sub, after = match["attr"], match["sub"], match["after"]
    low = attr.lower()
    if urn is not None and urn.lower() == "urn:ietf:params:scim:schemas:core:2.0:user":
        urn = None
    if urn is None and low in _ENTERPRISE_NAMES:
        urn = ENTERPRISE_USER
    filtered = "[" in rest
    if is_multi_valued("User", low) and (filtered or sub is not None):
        sub = after or sub or "value"
    elif urn is not None and urn.lower() == ENTERPRISE_USER.lower() and low == "manager" and sub is None:
        sub = "value"
    name = attr + (f".{sub}" if sub else "")
    return f"{urn}:{name}" if urn is not None else name


def _mapped(pair: ReconcileConfig) -> pa.Table:
    rows: list[dict[str, Any]] = []
    where = f"reconcile.{pair.source}.{pair.target}"
    for source_attr, target_attr in pair.match:
        rows.append(
            {
                "position": len(rows) + 1,
                "attribute": f"{source_attr} = {target_attr}",
                "role": "match",
                "source_path": attribute_path(source_attr, f"{where}.match"),
                "target_path": attribute_path(target_attr, f"{where}.match"),
            }
        )
    for attr in pair.compare:
        resolved = attribute_path(attr, f"{where}.compare")
        rows.append(
            {
                "position": len(rows) + 1,
                "attribute": attr,
                "role": "compare",
                "source_path": resolved,
                "target_path": resolved,
            }
        )
    return pa.Table.from_pylist(rows, schema=_MAPPED)


def _census(store: Store, system: str, cycle: str, config: Config | None) -> tuple[pa.Table, int]:
    """The attribute census of an export (validating it first when needed) and its finding count."""
    summary = read_summary(store, system, cycle)
    export = store.export(system, cycle, "full")
    if summary is None or summary.get("export_finished") != export.manifest().finished:
        validated: ValidationSummary = validate_export(store, system, cycle, config)
        summary = validated.to_json()
    rows = [
        {"resource_type": resource_type, "path": path, "resources": int(count)}
        for resource_type, paths in (summary.get("census") or {}).items()
        for path, count in paths.items()
    ]
    return pa.Table.from_pylist(rows, schema=_CENSUS), int(summary.get("total") or 0)


def _case_exact(declared: Declared, path: str) -> bool:
    found = declared.attribute("User", path)
    return bool(found and found.attribute.case_exact)


def validate_mapping(
    store: Store,
    source: str,
    target: str,
    config: Config | None = None,
    *,
    cycle: str | None = None,
) -> MappingSummary:
    """Check the reconcile mapping of ``source`` → ``target`` at ``cycle`` (default: latest common).

    Writes ``<data>/validation/source=<a>/target=<b>/mapping_findings.parquet`` and
    ``summary.json`` (published together) and returns the summary.
    """
    started = time.perf_counter()
    config = config or Config()
    chosen, source_ref, target_ref = store.pick_pair(source, target, cycle)
    pair = config.pair(source, target)
    mapped = _mapped(pair)
    declared = {source: declared_model(store, source), target: declared_model(store, target)}
    census: dict[str, pa.Table] = {}
    schema_findings: dict[str, int] = {}
    for system in (source, target):
        census[system], schema_findings[system] = _census(store, system, chosen, config)
    with open_session(temp_dir=store.temp_dir) as session:
        attribute_findings = session.run(
            "validate_mapping_findings",
            None,
            {
                "mapped": session.bind(mapped),
                "source_declared": session.bind(attributes_table(declared[source])),
                "target_declared": session.bind(attributes_table(declared[target])),
                "source_census": session.bind(census[source]),
                "target_census": session.bind(census[target]),
            },
            keep=True,
        )
        collisions = session.run(
            "validate_mapping_case_collisions",
            {
                "user_name_case_exact": _case_exact(declared[source], "userName")
                or _case_exact(declared[target], "userName"),
                "email_case_exact": _case_exact(declared[source], "emails.value")
                or _case_exact(declared[target], "emails.value"),
            },
            {
                "source_users": Parquet.of(source_ref.table("users")),
                "target_users": Parquet.of(target_ref.table("users")),
            },
            keep=True,
        )
        findings = session.run(
            "validate_mapping_all",
            None,
            {"attribute_findings": attribute_findings, "collision_findings": collisions},
        )
        final_dir = mapping_dir(store, source, target)
        with store.publishing(final_dir) as staging:
            session.write_parquet(findings, staging / MAPPING_FILE, MAPPING_FINDINGS)
            by_kind, by_severity, examples = _counts(session, staging / MAPPING_FILE)
            summary = MappingSummary(
                source=source,
                target=target,
                cycle=chosen,
                findings_path=final_dir / MAPPING_FILE,
                summary_path=final_dir / SUMMARY_FILE,
                attributes=tuple(
                    _attribute_rows(mapped, declared[source], declared[target], census, source, target)
                ),
                total=sum(by_kind.values()),
                by_kind=by_kind,
                by_severity=by_severity,
                thresholds=thresholds_for(config.thresholds, by_kind, MAPPING_KINDS),
                examples=examples,
                declared_from={source: declared[source].source, target: declared[target].source},
                exports_validated=schema_findings,
                seconds=time.perf_counter() - started,
            )
            atomic_write_json(staging / SUMMARY_FILE, summary.to_json())
    return summary


def _attribute_rows(
    mapped: pa.Table,
    source_declared: Declared,
    target_declared: Declared,
    census: Mapping[str, pa.Table],
    source: str,
    target: str,
) -> list[dict[str, Any]]:
    def populated(system: str, path: str) -> int:
        return sum(
            int(r["resources"])
            for r in census[system].to_pylist()
            if r["resource_type"] == "User" and str(r["path"]).lower() == path.lower()
        )

    return [
        {
            "attribute": row["attribute"],
            "role": row["role"],
            "source_path": row["source_path"],
            "target_path": row["target_path"],
            "source_declared": source_declared.attribute("User", row["source_path"]) is not None,
            "target_declared": target_declared.attribute("User", row["target_path"]) is not None,
            "source_populated": populated(source, row["source_path"]),
            "target_populated": populated(target, row["target_path"]),
        }
        for row in mapped.to_pylist()
    ]


def _counts(
    session: Session, findings_path: Path
) -> tuple[dict[str, int], dict[str, int], dict[str, tuple[dict[str, str | None], ...]]]:
    by_kind: dict[str, int] = {}
    by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    examples: dict[str, list[dict[str, str | None]]] = {}
    seen: set[tuple[str, str]] = set()
    rows = session.tuples(
        session.run("validate_mapping_counts", None, {"findings": Parquet.of(findings_path)})
    )
    for kind, severity, count, attribute, source_id, target_id, detail in rows:
        if (kind, severity) not in seen:
            seen.add((kind, severity))
            by_kind[kind] = by_kind.get(kind, 0) + int(count)
            by_severity[severity] = by_severity.get(severity, 0) + int(count)
        kind_examples = examples.setdefault(kind, [])
        if len(kind_examples) < 3:
            kind_examples.append(
                {"attribute": attribute, "source_id": source_id, "target_id": target_id, "detail": detail}
            )
    return by_kind, by_severity, {k: tuple(v) for k, v in examples.items()}
