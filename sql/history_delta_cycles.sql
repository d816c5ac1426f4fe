-- name: history_delta_cycles
-- purpose: filter completeness per system and delta head cycle, with the number of delta findings of each kind
-- inputs: delta_summaries, delta_findings
-- params: none
WITH counted AS (
    SELECT
        system,
        head,
        count(CASE WHEN kind = 'missed_change' THEN 1 END) AS missed_change,
        count(CASE WHEN kind = 'missed_creation' THEN 1 END) AS missed_creation,
        count(CASE WHEN kind = 'unreported_deletion' THEN 1 END) AS unreported_deletion,
        count(CASE WHEN kind = 'unchanged_returned' THEN 1 END) AS unchanged_returned,
        count(CASE WHEN kind = 'stale_last_modified' THEN 1 END) AS stale_last_modified,
        count(CASE WHEN kind = 'outside_filter' THEN 1 END) AS outside_filter
    FROM delta_findings
    GROUP BY system, head
)
SELECT
    s.system,
    s.base,
    s.head,
    s.head_time,
    s.completeness,
    coalesce(c.missed_change, 0) AS missed_change,
    coalesce(c.missed_creation, 0) AS missed_creation,
    coalesce(c.unreported_deletion, 0) AS unreported_deletion,
    coalesce(c.unchanged_returned, 0) AS unchanged_returned,
    coalesce(c.stale_last_modified, 0) AS stale_last_modified,
    coalesce(c.outside_filter, 0) AS outside_filter
FROM delta_summaries AS s
LEFT JOIN counted AS c ON c.system = s.system AND c.head = s.head
ORDER BY s.system, s.head
