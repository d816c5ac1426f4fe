"""SCIM /Bulk: per-operation outcomes, remediation plans from findings, and applying them safely.

- :func:`analyze_files` / :func:`analyze_records` (``recon bulk analyze``): which operations of
  bulk requests really landed in the target (``bulk_outcomes.parquet``);
- :func:`plan` (``recon bulk plan``): reconcile findings -> BulkRequest chunks fitting the
  target's limits, with If-Match and bulkId references;
- :func:`apply_plan` (``recon bulk apply``): sends a plan (dry run by default), records every
  answer, never applies anything twice, then re-extracts and analyzes.

The names are imported on first use (PEP 562): ``recon bulk plan`` then loads neither the HTTP
client of apply nor the validation of re-extracts (measured: about half a second of start-up).
``plan`` is also the name of its submodule: once ``recon.bulk.plan`` has been imported as a
module, the package attribute is that module, so import the function from ``recon.bulk.plan``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.bulk.analyze import OUTCOMES, UNAPPLIED, AnalyzeSummary, analyze_files, analyze_records
    from recon.bulk.apply import ApplySummary, ChunkPreview, apply_plan, live_extractor
    from recon.bulk.plan import PlanSummary, plan

_HOME = {
    "OUTCOMES": "analyze",
    "UNAPPLIED": "analyze",
    "AnalyzeSummary": "analyze",
    "analyze_files": "analyze",
    "analyze_records": "analyze",
    "ApplySummary": "apply",
    "ChunkPreview": "apply",
    "apply_plan": "apply",
    "live_extractor": "apply",
    "PlanSummary": "plan",
    "plan": "plan",
}

__all__ = [
    "OUTCOMES",
    "UNAPPLIED",
    "AnalyzeSummary",
    "ApplySummary",
    "ChunkPreview",
    "PlanSummary",
    "analyze_files",
    "analyze_records",
    "apply_plan",
    "live_extractor",
    "plan",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # asked once
    return value
