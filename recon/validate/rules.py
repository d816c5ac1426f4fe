"""The finding kinds of ``recon validate``, their severities, the output tables, thresholds.

Export validation (``schema_findings.parquet``), one row per finding, by kind (severity):

- ``leaked_attribute`` (critical): a ``returned: never`` / ``mutability: writeOnly``
  attribute such as ``password`` came back;
- ``user_name_collision`` (high): two users whose userName is equal under the declared
  ``caseExact``;
- ``missing_required`` (high): a required attribute (or required extension) absent or empty;
- ``type_mismatch`` (medium): a value of another JSON type than declared, a dateTime that is
  not xsd:dateTime, an array for a single value or the reverse;
- ``multiple_primary`` (medium): more than one ``primary: true`` in a multi-valued attribute;
- ``undeclared_schema`` (medium): a URN in ``schemas``, or a block of attributes, that the
  resource type does not declare;
- ``schema_urn_missing`` (medium): a block of extension attributes (or the core schema) whose
  URN is not listed in ``schemas``;
- ``undeclared_attribute`` (medium inside an extension, else low): an attribute the declared
  schemas do not define;
- ``schema_urn_without_block`` (low): an extension URN listed in ``schemas`` with none of its
  attributes present;
- ``non_canonical_value`` (low): a value outside the declared ``canonicalValues``;
- ``attribute_name_case`` (low): an attribute name spelled in another case than declared.

Mapping validation (``mapping_findings.parquet``): see :data:`MAPPING_KINDS`.
"""

from __future__ import annotations

import pyarrow as pa

from recon.findings import EXPORT_KINDS, MAPPING_KINDS, SEVERITIES, Threshold, thresholds_for

__all__ = [
    "EXPORT_KINDS",
    "MAPPING_FINDINGS",
    "MAPPING_KINDS",
    "SCHEMA_FINDINGS",
    "SEVERITIES",
    "Threshold",
    "thresholds_for",
]

SCHEMA_FINDINGS = pa.schema(
    [(name, pa.string()) for name in ("kind", "severity", "resource_type", "id", "attribute", "detail")]
)

MAPPING_FINDINGS = pa.schema(
    [
        (name, pa.string())
        for name in (
            "kind",
            "severity",
            "attribute",
            "source_attribute",
            "target_attribute",
            "source_id",
            "target_id",
            "source_value",
            "target_value",
            "detail",
        )
    ]
)
