"""What recon has recorded on disk besides the findings rows: the findings and delta partitions
present, the counts each reconcile stated in its ``summary.json``, capabilities and probe results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from recon.capabilities import load_capabilities
from recon.errors import InputError
from recon.findings import FINDING_KINDS
from recon.store import Store, partition_values, read_json_object

__all__ = [
    "FINDING_KINDS",
    "capabilities_overview",
    "findings_cycles",
    "findings_summary_counts",
    "has_findings",
    "partition_values",
    "probe_results",
]


def findings_cycles(store: Store, source: str | None, target: str | None) -> list[tuple[str, str, str]]:
    """(source, target, cycle) of every findings partition that has its findings.parquet."""
    return store.findings_cycles(source, target)


def has_findings(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds at least one findings partition."""
    return bool(findings_cycles(Store(data_dir), None, None))


def findings_summary_counts(
    store: Store, source: str | None = None, target: str | None = None
) -> pl.DataFrame:
    """Findings per pair, cycle and kind as the reconcile ``summary.json`` files state them.

    An independent count to check :func:`history` against (it reads the Parquet files).
    Reads ``counts`` (or ``by_kind``) mapping kind -> number from each summary.json.
    """
    rows: list[dict[str, Any]] = []
    for src, tgt, cycle in findings_cycles(store, source, target):
        path = store.findings_dir(src, tgt, cycle) / "summary.json"
        summary = read_json_object(path)
        if summary is None:
            continue
        counts = summary.get("counts", summary.get("by_kind"))
        if isinstance(counts, dict) and isinstance(counts.get("by_kind"), dict):
            counts = counts["by_kind"]
        if not isinstance(counts, dict):
            raise InputError(f"{path}: no 'counts' object of findings per kind")
        for kind, number in sorted(counts.items()):
            if kind in FINDING_KINDS and isinstance(number, int):
                rows.append({"source": src, "target": tgt, "cycle": cycle, "kind": kind, "findings": number})
    return pl.DataFrame(
        rows,
        schema={
            "source": pl.String,
            "target": pl.String,
            "cycle": pl.String,
            "kind": pl.String,
            "findings": pl.Int64,
        },
    )


# -- capabilities ------------------------------------------------------------------------

_ADVERTISED = (
    ("filter", ("filter", "supported")),
    ("filter maxResults", ("filter", "maxResults")),
    ("sort", ("sort", "supported")),
    ("etag", ("etag", "supported")),
    ("patch", ("patch", "supported")),
    ("bulk", ("bulk", "supported")),
    ("bulk maxOperations", ("bulk", "maxOperations")),
    ("bulk maxPayloadSize", ("bulk", "maxPayloadSize")),
    ("paging: index", ("pagination", "index")),
    ("paging: cursor", ("pagination", "cursor")),
    ("paging: maxPageSize", ("pagination", "maxPageSize")),
)


def capabilities_overview(store: Store) -> pl.DataFrame:
    """Advertised and observed capabilities per system, one row per (system, capability).

    Columns: system, capability, advertised, observed, observed_by (values as text; null when
    not recorded). Empty when no ``capabilities.json`` exists (run recon discover / probe).
    """
    rows: list[dict[str, Any]] = []
    for system in partition_values(store.capabilities_root, "system"):
        capabilities = load_capabilities(store, system)
        if capabilities is None:
            continue
        for name, (block, key) in _ADVERTISED:
            value = (capabilities.advertised.get(block) or {}).get(key)
            rows.append(
                {
                    "system": system,
                    "capability": name,
                    "advertised": _show(value),
                    "observed": None,
                    "observed_by": None,
                }
            )
        for key, seen in sorted(capabilities.observed.items()):
            rows.append(
                {
                    "system": system,
                    "capability": key,
                    "advertised": None,
                    "observed": _show(seen.get("value")),
                    "observed_by": None if seen.get("by") is None else str(seen.get("by")),
                }
            )
    schema = {name: pl.String for name in ("system", "capability", "advertised", "observed", "observed_by")}
    return pl.DataFrame(rows, schema=schema)


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def probe_results(store: Store) -> pl.DataFrame:
    """Every system's ``probe.parquet`` rows (CONTRACT §6) with a ``system`` column; may be empty."""
    frames = []
    for system in partition_values(store.capabilities_root, "system"):
        path = store.capabilities_dir(system) / "probe.parquet"
        if path.is_file():
            frame = pl.read_parquet(path, columns=["probe", "filter", "status", "detail"])
            frames.append(frame.select(pl.lit(system).alias("system"), pl.all()))
    if not frames:
        return pl.DataFrame(
            schema={name: pl.String for name in ("system", "probe", "filter", "status", "detail")}
        )
    return pl.concat(frames, how="diagonal_relaxed")
