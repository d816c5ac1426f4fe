-- name: validate_mapping_counts
-- purpose: the number of mapping findings per kind and severity, each with its first three findings as examples
-- inputs: findings
-- params: none
WITH counted AS (
    SELECT kind, severity, count(*) AS findings
    FROM findings
    GROUP BY kind, severity
),
firsts AS (
    SELECT kind, severity, attribute, source_id, target_id, detail
    FROM findings
    QUALIFY row_number() OVER (
        PARTITION BY kind, severity ORDER BY attribute, source_id NULLS FIRST, target_id NULLS FIRST
    ) <= 3
)
SELECT c.kind, c.severity, c.findings, f.attribute, f.source_id, f.target_id, f.detail
FROM counted AS c
JOIN firsts AS f ON f.kind = c.kind AND f.severity = c.severity
ORDER BY c.kind, c.severity, f.attribute, f.source_id NULLS FIRST, f.target_id NULLS FIRST
