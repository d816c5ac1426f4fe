-- name: history_counts
-- purpose: findings per system pair, cycle, kind and severity (only combinations that occur); a finding with duplicate rows in a cycle counts once, with its worst severity
-- inputs: findings, cycles, severity_ranks, drift_spans, aged_findings
-- params: none
-- drift_spans: history_drift_spans; aged_findings: history_drift_age (the occurrences of the
-- identities that are not one clean run). An identity in one clean run has one row per cycle, so
-- its rows are counted as they are; the others are counted from their occurrences. The rows are
-- counted per cycle, kind and severity alone (a narrow read, a few groups), and the rows of the
-- identities that are not one clean run (few) subtracted: no statement matches every row's
-- identity against them.
WITH broken AS (
    SELECT source, target, kind, source_id, target_id, group_id, target_group_id, attribute
    FROM drift_spans
    WHERE NOT unbroken
),
all_rows AS (
    SELECT source, target, cycle, kind, severity, count(*) AS findings
    FROM findings
    WHERE kind IS NOT NULL
    GROUP BY source, target, cycle, kind, severity
),
broken_rows AS (
    SELECT f.source, f.target, f.cycle, f.kind, f.severity, count(*) AS findings
    FROM findings AS f
    SEMI JOIN broken AS b
        ON b.source = f.source AND b.target = f.target AND b.kind = f.kind
        AND b.source_id IS NOT DISTINCT FROM f.source_id
        AND b.target_id IS NOT DISTINCT FROM f.target_id
        AND b.group_id IS NOT DISTINCT FROM f.group_id
        AND b.target_group_id IS NOT DISTINCT FROM f.target_group_id
        AND b.attribute IS NOT DISTINCT FROM f.attribute
    GROUP BY f.source, f.target, f.cycle, f.kind, f.severity
),
clean_rows AS (
    SELECT a.source, a.target, a.cycle, a.kind, a.severity, a.findings - coalesce(b.findings, 0) AS findings
    FROM all_rows AS a
    LEFT JOIN broken_rows AS b
        ON b.source = a.source AND b.target = a.target AND b.cycle = a.cycle AND b.kind = a.kind
        AND b.severity IS NOT DISTINCT FROM a.severity
),
occurrences AS (
    SELECT f.source, f.target, f.cycle, c.cycle_index, f.kind, r.severity, f.findings
    FROM clean_rows AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    WHERE f.findings > 0
    UNION ALL
    SELECT source, target, cycle, cycle_index, kind, severity, 1 AS findings
    FROM aged_findings
)
SELECT source, target, cycle, cycle_index, kind, severity, CAST(sum(findings) AS BIGINT) AS findings
FROM occurrences
GROUP BY source, target, cycle, cycle_index, kind, severity
ORDER BY source, target, cycle_index, kind, severity
