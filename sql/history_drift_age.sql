-- name: history_drift_age
-- purpose: every occurrence (finding identity and cycle) of the identities that do not appear in one clean run of cycles (gaps, duplicate rows, runs of more than 63 cycles), with its open-drift age: how many consecutive cycles, up to and including that one, the same finding has appeared in
-- inputs: findings, cycles, severity_ranks, drift_spans
-- params: none
-- drift_spans: history_drift_spans. The identities in one unbroken run (most of them) are aged
-- from their spans; only the others are numbered here, run by run, with windows over their rows.
-- Duplicate rows of a finding in one cycle count once, with the worst severity.
WITH broken AS (
    SELECT source, target, kind, source_id, target_id, group_id, target_group_id, attribute
    FROM drift_spans
    WHERE NOT unbroken
),
broken_rows AS (
    SELECT f.source, f.target, f.cycle, f.kind, f.severity, f.source_id, f.target_id, f.group_id,
        f.target_group_id, f.attribute
    FROM findings AS f
    SEMI JOIN broken AS b
        ON b.source = f.source AND b.target = f.target AND b.kind = f.kind
        AND b.source_id IS NOT DISTINCT FROM f.source_id
        AND b.target_id IS NOT DISTINCT FROM f.target_id
        AND b.group_id IS NOT DISTINCT FROM f.group_id
        AND b.target_group_id IS NOT DISTINCT FROM f.target_group_id
        AND b.attribute IS NOT DISTINCT FROM f.attribute
),
occurrences AS (
    SELECT
        f.source, f.target, f.cycle, c.cycle_index, f.kind, f.source_id, f.target_id, f.group_id,
        f.target_group_id, f.attribute,
        min(r.severity_rank) AS severity_rank
    FROM broken_rows AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    GROUP BY
        f.source, f.target, f.cycle, c.cycle_index, f.kind, f.source_id, f.target_id, f.group_id,
        f.target_group_id, f.attribute
),
marked AS (
    SELECT
        source, target, cycle, cycle_index, kind, source_id, target_id, group_id, target_group_id,
        attribute, severity_rank,
        CASE
            WHEN lag(cycle_index) OVER (
                PARTITION BY source, target, kind, source_id, target_id, group_id, target_group_id, attribute
                ORDER BY cycle_index
            ) = cycle_index - 1 THEN NULL
            ELSE cycle_index
        END AS run_start
    FROM occurrences
),
aged AS (
    SELECT
        source, target, cycle, cycle_index, kind, source_id, target_id, group_id, target_group_id,
        attribute, severity_rank,
        max(run_start) OVER (
            PARTITION BY source, target, kind, source_id, target_id, group_id, target_group_id, attribute
            ORDER BY cycle_index
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS first_index
    FROM marked
)
SELECT
    a.source,
    a.target,
    a.cycle,
    a.cycle_index,
    a.kind,
    r.severity,
    a.source_id,
    a.target_id,
    a.group_id,
    a.target_group_id,
    a.attribute,
    a.cycle_index - a.first_index + 1 AS age,
    a.first_index
FROM aged AS a
LEFT JOIN severity_ranks AS r ON r.severity_rank = a.severity_rank
