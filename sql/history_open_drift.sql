-- name: history_open_drift
-- purpose: the findings still open at each system pair's latest cycle, worst and oldest first, with their age in cycles and the cycle they were first seen in
-- inputs: drift_spans, aged_findings, latest_findings, cycles, severity_ranks
-- params: none
-- drift_spans: history_drift_spans; aged_findings: history_drift_age. An identity in one clean
-- run up to the latest cycle is as old as the cycles since its first; the others carry their age.
-- latest_findings: the findings files of each pair's latest cycle (rows of other cycles are
-- ignored): the wide columns are read for that cycle only, from the worst copy of each finding.
-- A finding in one clean run has one row in each cycle of it, so only the others' rows (few) are
-- ranked for their worst copy.
WITH latest AS (
    SELECT source, target, max(cycle_index) AS cycle_index FROM cycles GROUP BY source, target
),
latest_rows AS (
    SELECT
        f.source, f.target, f.cycle, f.kind, r.severity, r.severity_rank, f.source_id, f.target_id,
        f.group_id, f.target_group_id, f.attribute, f.user_name, f.group_name, f.source_value,
        f.target_value, f.detail
    FROM latest_findings AS f
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    JOIN latest AS l ON l.source = c.source AND l.target = c.target AND l.cycle_index = c.cycle_index
),
clean_open AS (  -- one clean run up to the latest cycle: one row there, so that row is the worst copy
    SELECT
        s.source, s.target, s.kind, s.source_id, s.target_id, s.group_id, s.target_group_id,
        s.attribute, l.cycle_index - s.first_index + 1 AS age, s.first_index
    FROM drift_spans AS s
    JOIN latest AS l ON l.source = s.source AND l.target = s.target AND l.cycle_index = s.last_index
    WHERE s.unbroken
),
broken_open AS (
    SELECT
        a.source, a.target, a.kind, a.source_id, a.target_id, a.group_id, a.target_group_id,
        a.attribute, a.age, a.first_index
    FROM aged_findings AS a
    JOIN latest AS l ON l.source = a.source AND l.target = a.target AND l.cycle_index = a.cycle_index
),
broken_copies AS (  -- the rows of the others (few; duplicate rows possible), worst copy first
    SELECT
        w.*,
        row_number() OVER (
            PARTITION BY w.source, w.target, w.kind, w.source_id, w.target_id, w.group_id,
                w.target_group_id, w.attribute
            ORDER BY w.severity_rank NULLS LAST, w.detail
        ) AS copy
    FROM latest_rows AS w
    SEMI JOIN broken_open AS o
        ON o.source = w.source AND o.target = w.target AND o.kind = w.kind
        AND o.source_id IS NOT DISTINCT FROM w.source_id
        AND o.target_id IS NOT DISTINCT FROM w.target_id
        AND o.group_id IS NOT DISTINCT FROM w.group_id
        AND o.target_group_id IS NOT DISTINCT FROM w.target_group_id
        AND o.attribute IS NOT DISTINCT FROM w.attribute
),
open_now AS (
    SELECT
        o.source, o.target, o.kind, o.source_id, o.target_id, o.group_id, o.target_group_id,
        o.attribute, o.age, o.first_index, w.cycle, w.severity, w.severity_rank, w.user_name,
        w.group_name, w.source_value, w.target_value, w.detail
    FROM clean_open AS o
    JOIN latest_rows AS w
        ON w.source = o.source AND w.target = o.target AND w.kind = o.kind
        AND w.source_id IS NOT DISTINCT FROM o.source_id
        AND w.target_id IS NOT DISTINCT FROM o.target_id
        AND w.group_id IS NOT DISTINCT FROM o.group_id
        AND w.target_group_id IS NOT DISTINCT FROM o.target_group_id
        AND w.attribute IS NOT DISTINCT FROM o.attribute
    UNION ALL
    SELECT
        o.source, o.target, o.kind, o.source_id, o.target_id, o.group_id, o.target_group_id,
        o.attribute, o.age, o.first_index, w.cycle, w.severity, w.severity_rank, w.user_name,
        w.group_name, w.source_value, w.target_value, w.detail
    FROM broken_open AS o
    JOIN broken_copies AS w
        ON w.copy = 1 AND w.source = o.source AND w.target = o.target AND w.kind = o.kind
        AND w.source_id IS NOT DISTINCT FROM o.source_id
        AND w.target_id IS NOT DISTINCT FROM o.target_id
        AND w.group_id IS NOT DISTINCT FROM o.group_id
        AND w.target_group_id IS NOT DISTINCT FROM o.target_group_id
        AND w.attribute IS NOT DISTINCT FROM o.attribute
)
SELECT
    o.source, o.target, o.cycle, o.kind, o.severity, o.source_id, o.target_id, o.user_name, o.group_id,
    o.target_group_id, o.group_name, o.attribute, o.source_value, o.target_value, o.detail, o.age,
    fc.cycle AS first_cycle
FROM open_now AS o
JOIN cycles AS fc ON fc.source = o.source AND fc.target = o.target AND fc.cycle_index = o.first_index
ORDER BY
    o.source,
    o.target,
    o.severity_rank NULLS LAST,
    o.age DESC,
    o.kind,
    o.user_name,
    o.group_name,
    o.attribute,
    o.source_id,
    o.target_id,
    o.group_id,  -- the rest of the identity: rows of one user that differ only in their groups
    o.target_group_id
