-- name: validate_findings
-- purpose: every schema finding of one export, one row per finding: the findings of each shape expanded to its representatives and from them to the resources each stands for (members: rep is the number in a representative's key, after its letter), plus userName collisions, most severe first
-- inputs: shapes, shape_findings, fact_findings, element_findings, collisions, members, severity_ranks
-- params: none
WITH per_shape AS (
    SELECT shape_no, kind, severity, attribute, detail FROM shape_findings
    UNION ALL
    SELECT shape_no, kind, severity, attribute, detail FROM fact_findings
    UNION ALL
    SELECT shape_no, kind, severity, attribute, detail FROM element_findings
),
represented AS (
    SELECT shape_no, resource_type, CAST(substr(unnest(ids), 2) AS INTEGER) AS rep
    FROM shapes
    WHERE shape_no IN (SELECT shape_no FROM per_shape)
),
expanded AS (
    SELECT f.kind, f.severity, r.resource_type, m.id, f.attribute, f.detail
    FROM per_shape AS f
    JOIN represented AS r ON r.shape_no = f.shape_no
    JOIN members AS m ON m.resource_type = r.resource_type AND m.rep = r.rep
),
everything AS (
    SELECT kind, severity, resource_type, id, attribute, detail FROM expanded
    UNION ALL
    SELECT kind, severity, resource_type, id, attribute, detail FROM collisions
)
SELECT e.kind, e.severity, e.resource_type, e.id, e.attribute, e.detail
FROM everything AS e
LEFT JOIN severity_ranks AS r ON r.severity = e.severity
ORDER BY
    r.severity_rank NULLS LAST,
    e.kind,
    e.resource_type,
    e.id,
    e.attribute
