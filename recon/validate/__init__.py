"""Schema conformance of exports and of reconcile mappings (``recon validate``).

- :func:`validate_export`: every resource of one system's export against RFC 7643 and the
  schemas the system itself declares (``recon discover``); writes ``schema_findings.parquet``.
- :func:`validate_mapping`: the reconcile mapping of a source/target pair against both
  systems' schemas and data; writes ``mapping_findings.parquet``.
- :func:`schema_findings_count`: how many schema findings an export has (None if never validated).
- :func:`inject_schema_faults`: schema faults for the simulator, with the findings they cause.

The names are imported on first use (PEP 562), so that a reader of ``declared`` or ``rfc7643``
alone (``recon.content``, behind ``recon bulk analyze``) does not load the export validator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.validate.export import ValidationSummary, read_summary, schema_findings_count, validate_export
    from recon.validate.mapping import MappingSummary, validate_mapping
    from recon.validate.schema_faults import InjectedFault, inject_schema_faults

_HOME = {
    "InjectedFault": "schema_faults",
    "MappingSummary": "mapping",
    "ValidationSummary": "export",
    "inject_schema_faults": "schema_faults",
    "read_summary": "export",
    "schema_findings_count": "export",
    "validate_export": "export",
    "validate_mapping": "mapping",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
