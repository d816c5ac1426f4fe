-- name: history_counts
-- purpose: findings per system pair, cycle, kind and severity (only combinations that occur); a finding with duplicate rows in a cycle counts once, with its worst severity
-- inputs: findings, cycles, severity_ranks, drift_spans, aged_findings
-- params: none
-- drift_spans: history_drift_spans; aged_findings: history_drift_age (the occurrences of the
-- identities that are not one clean run). An identity in one clean run has one row per cycle, so
-- its rows are counted as they are; the others are counted from their occurrences.
WITH broken AS (
    SELECT source, target, kind, source_id, target_id, group_id, target_group_id, attribute
    FROM drift_spans
    WHERE NOT unbroken
),
clean_rows AS (
    SELECT f.source, f.target, f.cycle, f.kind, f.severity
    FROM findings AS f
    ANTI JOIN broken AS b
        ON b.source = f.source AND b.target = f.target AND b.kind = f.kind
        AND b.source_id IS NOT DISTINCT FROM f.source_id
        AND b.target_id IS NOT DISTINCT FROM f.target_id
        AND b.group_id IS NOT DISTINCT FROM f.group_id
        AND b.target_group_id IS NOT DISTINCT FROM f.target_group_id
        AND b.attribute IS NOT DISTINCT FROM f.attribute
    WHERE f.kind IS NOT NULL
),
occurrences AS (
    SELECT f.source, f.target, f.cycle, c.cycle_index, f.kind, r.severity
    FROM clean_rows AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    UNION ALL
    SELECT source, target, cycle, cycle_index, kind, severity
    FROM aged_findings
)
SELECT source, target, cycle, cycle_index, kind, severity, count(*) AS findings
FROM occurrences
GROUP BY source, target, cycle, cycle_index, kind, severity
ORDER BY source, target, cycle_index, kind, severity
