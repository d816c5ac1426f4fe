-- name: validate_mapping_all
-- purpose: all mapping findings of a source/target pair, most severe first
-- inputs: attribute_findings, collision_findings
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
SELECT kind, severity, attribute, source_attribute, target_attribute, source_id, target_id,
    source_value, target_value, detail
FROM everything
ORDER BY
    CASE severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
    part,
    kind,
    attribute,
    source_id NULLS FIRST,
    target_id NULLS FIRST
