-- name: history_drift_age
-- purpose: every finding identity of every cycle with its open-drift age: how many consecutive cycles, up to and including that one, the same finding has appeared in
-- inputs: findings, cycles, severity_ranks
-- params: none
-- A finding's identity across cycles is (source, target, kind, source_id, target_id, group_id,
-- target_group_id, attribute); GROUP BY and PARTITION BY put NULLs together, as identity needs.
-- cycles numbers every findings cycle of a pair 1, 2, 3, ... (cycles with no findings included),
-- so a cycle without the finding breaks its run. Narrow on purpose: the wide text columns are
-- read back only for the open findings (history_open_drift).
WITH occurrences AS (
    SELECT
        f.source,
        f.target,
        f.cycle,
        c.cycle_index,
        f.kind,
        f.source_id,
        f.target_id,
        f.group_id,
        f.target_group_id,
        f.attribute,
        min(r.severity_rank) AS severity_rank
    FROM findings AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    LEFT JOIN severity_ranks AS r ON r.severity = f.severity
    GROUP BY
        f.source, f.target, f.cycle, c.cycle_index, f.kind, f.source_id, f.target_id, f.group_id,
        f.target_group_id, f.attribute
),
spans AS (  -- per finding identity: the first and last cycle it appears in, and in how many
    SELECT
        source, target, kind, source_id, target_id, group_id, target_group_id, attribute,
        min(cycle_index) AS span_first,
        max(cycle_index) AS span_last,
        count(*) AS span_cycles
    FROM occurrences
    GROUP BY source, target, kind, source_id, target_id, group_id, target_group_id, attribute
),
-- Most findings appear in one unbroken run of cycles: their run starts at their first cycle.
-- Only the identities with a gap are numbered run by run (the windows sort only their rows).
marked AS (
    SELECT
        o.source, o.target, o.cycle, o.cycle_index, o.kind, o.source_id, o.target_id, o.group_id,
        o.target_group_id, o.attribute, o.severity_rank,
        CASE
            WHEN lag(o.cycle_index) OVER (
                PARTITION BY o.source, o.target, o.kind, o.source_id, o.target_id, o.group_id,
                    o.target_group_id, o.attribute
                ORDER BY o.cycle_index
            ) = o.cycle_index - 1 THEN NULL
            ELSE o.cycle_index
        END AS run_start
    FROM occurrences AS o
    JOIN spans AS s
        ON s.source = o.source AND s.target = o.target AND s.kind = o.kind
        AND s.source_id IS NOT DISTINCT FROM o.source_id
        AND s.target_id IS NOT DISTINCT FROM o.target_id
        AND s.group_id IS NOT DISTINCT FROM o.group_id
        AND s.target_group_id IS NOT DISTINCT FROM o.target_group_id
        AND s.attribute IS NOT DISTINCT FROM o.attribute
    WHERE s.span_cycles <> s.span_last - s.span_first + 1
),
aged AS (
    SELECT
        o.source, o.target, o.cycle, o.cycle_index, o.kind, o.source_id, o.target_id, o.group_id,
        o.target_group_id, o.attribute, o.severity_rank, s.span_first AS first_index
    FROM occurrences AS o
    JOIN spans AS s
        ON s.source = o.source AND s.target = o.target AND s.kind = o.kind
        AND s.source_id IS NOT DISTINCT FROM o.source_id
        AND s.target_id IS NOT DISTINCT FROM o.target_id
        AND s.group_id IS NOT DISTINCT FROM o.group_id
        AND s.target_group_id IS NOT DISTINCT FROM o.target_group_id
        AND s.attribute IS NOT DISTINCT FROM o.attribute
    WHERE s.span_cycles = s.span_last - s.span_first + 1
    UNION ALL
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
