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

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "EXPORT_KINDS",
    "MAPPING_FINDINGS",
    "MAPPING_KINDS",
    "SCHEMA_FINDINGS",
    "SEVERITIES",
    "Threshold",
    "thresholds_for",
]

SEVERITIES = ("critical", "high", "medium", "low")

EXPORT_KINDS = (
    "leaked_attribute",
    "user_name_collision",
    "missing_required",
    "type_mismatch",
    "multiple_primary",
    "undeclared_schema",
    "schema_urn_missing",
    "undeclared_attribute",
    "schema_urn_without_block",
    "non_canonical_value",
    "attribute_name_case",
)

MAPPING_KINDS = (
    "mapping_attribute_undeclared",  # a compared/matched attribute one side does not declare
    "mapping_type_mismatch",  # declared with different types (or single vs multi-valued)
    "mapping_case_exact_mismatch",  # caseExact differs between the two sides
    "mapping_unpopulated_in_target",  # populated in the source export, never in the target's
    "cross_system_case_collision",  # a source and a target value equal except for case
)

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


@dataclass(frozen=True)
class Threshold:
    """A ``[thresholds]`` limit of recon.toml applied to one finding kind."""

    kind: str
    limit: int
    count: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def thresholds_for(
    configured: Mapping[str, int], counts: Mapping[str, int], kinds: tuple[str, ...]
) -> tuple[Threshold, ...]:
    """The configured limits that apply to ``kinds``, with the counts found."""
    return tuple(
        Threshold(kind, limit, int(counts.get(kind, 0)))
        for kind, limit in sorted(configured.items())
        if kind in kinds
    )
