-- name: history_open_drift
-- purpose: the findings still open at each system pair's latest cycle, worst and oldest first, with their age in cycles and the cycle they were first seen in
-- inputs: drift_spans, aged_findings, latest_findings, cycles, severity_ranks
-- params: none
-- drift_spans: history_drift_spans; aged_findings: history_drift_age. An identity in one clean
-- run up to the latest cycle is as old as the cycles since its first; the others carry their age.
-- latest_findings: the findings files of each pair's latest cycle (rows of other cycles are
-- ignored): the wide columns are read for that cycle only, from the worst copy of each finding.
WITH latest AS (
    SELECT source, target, max(cycle_index) AS cycle_index FROM cycles GROUP BY source, target
),
open_now AS (
    SELECT
        s.source, s.target, s.kind, s.source_id, s.target_id, s.group_id, s.target_group_id,
        s.attribute, l.cycle_index - s.first_index + 1 AS age, s.first_index
    FROM drift_spans AS s
    JOIN latest AS l ON l.source = s.source AND l.target = s.target AND l.cycle_index = s.last_index
    WHERE s.unbroken
    UNION ALL
    SELECT
        a.source, a.target, a.kind, a.source_id, a.target_id, a.group_id, a.target_group_id,
        a.attribute, a.age, a.first_index
    FROM aged_findings AS a
    JOIN latest AS l ON l.source = a.source AND l.target = a.target AND l.cycle_index = a.cycle_index
),
worst_copies AS (
    SELECT
        f.source, f.target, f.cycle, f.kind, r.severity, r.severity_rank, f.source_id, f.target_id,
        f.group_id, f.target_group_id, f.attribute, f.user_name, f.group_name, f.source_value,
        f.target_value, f.detail,
        row_number() OVER (
            PARTITION BY f.source, f.target, f.kind, f.source_id, f.target_id, f.group_id,
                f.target_group_id, f.attribute
            ORDER BY r.severity_rank NULLS LAST, f.detail
        ) AS copy
    FROM latest_findings AS f
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    JOIN latest AS l ON l.source = c.source AND l.target = c.target AND l.cycle_index = c.cycle_index
)
SELECT
    o.source, o.target, w.cycle, o.kind, w.severity, o.source_id, o.target_id, w.user_name, o.group_id,
    o.target_group_id, w.group_name, o.attribute, w.source_value, w.target_value, w.detail, o.age,
    fc.cycle AS first_cycle
FROM open_now AS o
JOIN worst_copies AS w
    ON w.copy = 1 AND w.source = o.source AND w.target = o.target AND w.kind = o.kind
    AND w.source_id IS NOT DISTINCT FROM o.source_id
    AND w.target_id IS NOT DISTINCT FROM o.target_id
    AND w.group_id IS NOT DISTINCT FROM o.group_id
    AND w.target_group_id IS NOT DISTINCT FROM o.target_group_id
    AND w.attribute IS NOT DISTINCT FROM o.attribute
JOIN cycles AS fc ON fc.source = o.source AND fc.target = o.target AND fc.cycle_index = o.first_index
ORDER BY
    o.source,
    o.target,
    w.severity_rank NULLS LAST,
    o.age DESC,
    o.kind,
    w.user_name,
    w.group_name,
    o.attribute,
    o.source_id,
    o.target_id
