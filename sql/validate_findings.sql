-- name: validate_findings
-- purpose: every schema finding of one export, one row per finding: the findings of each shape expanded to its resources, plus userName collisions, most severe first
-- inputs: shapes, shape_findings, fact_findings, element_findings, collisions
-- params: none
WITH per_shape AS (
    SELECT shape_no, kind, severity, attribute, detail FROM shape_findings
    UNION ALL
    SELECT shape_no, kind, severity, attribute, detail FROM fact_findings
    UNION ALL
    SELECT shape_no, kind, severity, attribute, detail FROM element_findings
),
expanded AS (
    SELECT f.kind, f.severity, s.resource_type, unnest(s.ids) AS id, f.attribute, f.detail
    FROM per_shape AS f
    JOIN shapes AS s ON s.shape_no = f.shape_no
),
everything AS (
    SELECT kind, severity, resource_type, id, attribute, detail FROM expanded
    UNION ALL
    SELECT kind, severity, resource_type, id, attribute, detail FROM collisions
)
SELECT kind, severity, resource_type, id, attribute, detail
FROM everything
ORDER BY
    CASE severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
    kind,
    resource_type,
    id,
    attribute
