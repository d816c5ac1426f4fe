-- name: history_open_drift
-- purpose: the findings still open at each system pair's latest cycle, worst and oldest first, with their age in cycles and the cycle they were first seen in
-- inputs: aged_findings, findings, cycles, severity_ranks
-- params: none
WITH latest AS (
    SELECT source, target, max(cycle_index) AS cycle_index FROM cycles GROUP BY source, target
),
open_now AS (
    SELECT
        a.source, a.target, a.cycle, a.kind, a.severity, a.source_id, a.target_id, a.group_id,
        a.target_group_id, a.attribute, a.age, a.first_index
    FROM aged_findings AS a
    JOIN latest AS l ON l.source = a.source AND l.target = a.target AND l.cycle_index = a.cycle_index
),
latest_findings AS (
    SELECT
        f.source, f.target, f.cycle, f.kind, f.source_id, f.target_id, f.group_id, f.target_group_id,
        f.attribute, f.user_name, f.group_name, f.source_value, f.target_value, f.detail,
        row_number() OVER (
            PARTITION BY f.source, f.target, f.kind, f.source_id, f.target_id, f.group_id,
                f.target_group_id, f.attribute
            ORDER BY r.severity_rank NULLS LAST, f.detail
        ) AS copy
    FROM findings AS f
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    JOIN latest AS l ON l.source = c.source AND l.target = c.target AND l.cycle_index = c.cycle_index
)
SELECT
    o.source, o.target, o.cycle, o.kind, o.severity, o.source_id, o.target_id, w.user_name, o.group_id,
    o.target_group_id, w.group_name, o.attribute, w.source_value, w.target_value, w.detail, o.age,
    fc.cycle AS first_cycle
FROM open_now AS o
JOIN latest_findings AS w
    ON w.copy = 1 AND w.source = o.source AND w.target = o.target AND w.kind = o.kind
    AND w.source_id IS NOT DISTINCT FROM o.source_id
    AND w.target_id IS NOT DISTINCT FROM o.target_id
    AND w.group_id IS NOT DISTINCT FROM o.group_id
    AND w.target_group_id IS NOT DISTINCT FROM o.target_group_id
    AND w.attribute IS NOT DISTINCT FROM o.attribute
JOIN cycles AS fc ON fc.source = o.source AND fc.target = o.target AND fc.cycle_index = o.first_index
LEFT JOIN severity_ranks AS r ON r.severity = o.severity
ORDER BY
    o.source,
    o.target,
    r.severity_rank NULLS LAST,
    o.age DESC,
    o.kind,
    w.user_name,
    w.group_name,
    o.attribute,
    o.source_id,
    o.target_id
