-- name: history_delta_misses
-- purpose: changes and creations a delta export missed, per system, head cycle, resource type and likely cause (the server did not advance meta.lastModified, or it did and the record was still not returned)
-- inputs: delta_findings
-- params: none
WITH missed AS (
    SELECT system, head, resource_type, id, kind
    FROM delta_findings
    WHERE kind IN ('missed_change', 'missed_creation')
),
stale AS (
    SELECT DISTINCT system, head, resource_type, id
    FROM delta_findings
    WHERE kind = 'stale_last_modified'
),
classified AS (
    SELECT
        m.system,
        m.head,
        m.resource_type,
        m.kind,
        CASE
            WHEN s.id IS NOT NULL THEN 'lastModified not advanced'
            ELSE 'lastModified advanced, not returned'
        END AS cause
    FROM missed AS m
    LEFT JOIN stale AS s
        ON s.system = m.system AND s.head = m.head AND s.resource_type = m.resource_type AND s.id = m.id
)
SELECT system, head, resource_type, kind, cause, count(*) AS missed
FROM classified
GROUP BY system, head, resource_type, kind, cause
ORDER BY system, head, resource_type, kind, cause
