"""SCIM /Bulk: per-operation outcomes, remediation plans from findings, and applying them safely.

- :func:`analyze_files` / :func:`analyze_records` (``recon bulk analyze``): which operations of
  bulk requests really landed in the target (``bulk_outcomes.parquet``);
- :func:`plan` (``recon bulk plan``): reconcile findings -> BulkRequest chunks fitting the
  target's limits, with If-Match and bulkId references;
- :func:`apply_plan` (``recon bulk apply``): sends a plan (dry run by default), records every
  answer, never applies anything twice, then re-extracts and analyzes.
"""

from recon.bulk.analyze import OUTCOMES, UNAPPLIED, AnalyzeSummary, analyze_files, analyze_records
from recon.bulk.apply import ApplySummary, ChunkPreview, apply_plan, live_extractor
from recon.bulk.plan import PlanSummary, plan

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
