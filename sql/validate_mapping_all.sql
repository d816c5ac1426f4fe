-- name: validate_mapping_all
-- purpose: all mapping findings of a source/target pair, most severe first
-- inputs: attribute_findings, collision_findings, severity_ranks
-- params: none
WITH everything AS (
    SELECT kind, severity, attribute, source_attribute, target_attribute, source_id, target_id,
        source_value, target_value, detail, 0 AS part
    FROM attribute_findings
    UNION ALL
    SELECT kind, severity, attribute, source_attribute, target_attribute, source_id, target_id,
        source_value, target_value, detail, 1 AS part
    FROM collision_findings
)
SELECT e.kind, e.severity, e.attribute, e.source_attribute, e.target_attribute, e.source_id,
    e.target_id, e.source_value, e.target_value, e.detail
FROM everything AS e
LEFT JOIN severity_ranks AS r ON r.severity = e.severity
ORDER BY
    r.severity_rank NULLS LAST,
    e.part,
    e.kind,
    e.attribute,
    e.source_id NULLS FIRST,
    e.target_id NULLS FIRST
