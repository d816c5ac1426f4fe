-- name: validate_counts
-- purpose: the number of findings per kind and severity, each with its first three findings as examples
-- inputs: findings
-- params: none
WITH counted AS (
    SELECT kind, severity, count(*) AS findings
    FROM findings
    GROUP BY kind, severity
),
firsts AS (
    SELECT kind, severity, resource_type, id, attribute, detail
    FROM findings
    QUALIFY row_number() OVER (PARTITION BY kind, severity ORDER BY resource_type, id, attribute) <= 3
)
SELECT c.kind, c.severity, c.findings, f.resource_type, f.id, f.attribute, f.detail
FROM counted AS c
JOIN firsts AS f ON f.kind = c.kind AND f.severity = c.severity
ORDER BY c.kind, c.severity, f.resource_type, f.id, f.attribute
