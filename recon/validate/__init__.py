"""Schema conformance of exports and of reconcile mappings (``recon validate``).

- :func:`validate_export`: every resource of one system's export against RFC 7643 and the
  schemas the system itself declares (``recon discover``); writes ``schema_findings.parquet``.
- :func:`validate_mapping`: the reconcile mapping of a source/target pair against both
  systems' schemas and data; writes ``mapping_findings.parquet``.
- :func:`schema_findings_count`: how many schema findings an export has (None if never validated).
- :func:`inject_schema_faults`: schema faults for the simulator, with the findings they cause.
"""

from __future__ import annotations

from recon.validate.export import ValidationSummary, read_summary, schema_findings_count, validate_export
from recon.validate.mapping import MappingSummary, validate_mapping
from recon.validate.schema_faults import InjectedFault, inject_schema_faults

__all__ = [
    "InjectedFault",
    "MappingSummary",
    "ValidationSummary",
    "inject_schema_faults",
    "read_summary",
    "schema_findings_count",
    "validate_export",
    "validate_mapping",
]
