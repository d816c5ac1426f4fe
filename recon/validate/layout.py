"""Where validation results live (beside, never inside, the exports they describe)::

    <data>/validation/system=<name>/cycle=<id>/schema_findings.parquet, summary.json
    <data>/validation/source=<a>/target=<b>/mapping_findings.parquet, summary.json

An export folder is immutable once published, so findings about it go to their own root.
The folders are named by the store (:mod:`recon.store`); the file names are validate's.
"""

from __future__ import annotations

from pathlib import Path

from recon.store import Store

__all__ = [
    "FINDINGS_FILE",
    "MAPPING_FILE",
    "SUMMARY_FILE",
    "mapping_dir",
    "validation_dir",
    "validation_root",
]

FINDINGS_FILE = "schema_findings.parquet"
MAPPING_FILE = "mapping_findings.parquet"
SUMMARY_FILE = "summary.json"


def validation_root(store: Store) -> Path:
    """``<data>/validation``."""
    return store.validation_root


def validation_dir(store: Store, system: str, cycle: str) -> Path:
    """Folder of the schema findings of one system's export at one cycle."""
    return store.validation_dir(system, cycle)


def mapping_dir(store: Store, source: str, target: str) -> Path:
    """Folder of the mapping findings of a source/target pair (the latest run)."""
    return store.mapping_dir(source, target)
