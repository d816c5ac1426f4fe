-- name: history_cycles
-- purpose: one row per system pair and findings cycle: findings per severity, how many are new, persisting and resolved since the previous cycle, and the oldest open drift
-- inputs: counts, drift_spans, aged_findings, cycles
-- params: none
-- counts: history_counts; drift_spans: history_drift_spans; aged_findings: history_drift_age.
-- An identity in one clean run from cycle a to b is new in a and a - i + 1 cycles old in each
-- cycle i of the run: the spans are counted by run, not row by row.
WITH per_cycle AS (
    SELECT
        source,
        target,
        cycle_index,
        CAST(sum(findings) AS BIGINT) AS findings,
        CAST(sum(CASE WHEN severity = 'critical' THEN findings ELSE 0 END) AS BIGINT) AS critical,
        CAST(sum(CASE WHEN severity = 'high' THEN findings ELSE 0 END) AS BIGINT) AS high,
        CAST(sum(CASE WHEN severity = 'medium' THEN findings ELSE 0 END) AS BIGINT) AS medium,
        CAST(sum(CASE WHEN severity = 'low' THEN findings ELSE 0 END) AS BIGINT) AS low
    FROM counts
    GROUP BY source, target, cycle_index
),
runs AS (
    SELECT source, target, first_index, last_index, count(*) AS identities
    FROM drift_spans
    WHERE unbroken
    GROUP BY source, target, first_index, last_index
),
ages AS (
    SELECT
        r.source,
        r.target,
        c.cycle_index,
        CAST(sum(CASE WHEN c.cycle_index = r.first_index THEN r.identities ELSE 0 END) AS BIGINT) AS new,
        max(c.cycle_index - r.first_index + 1) AS max_age
    FROM runs AS r
    JOIN cycles AS c
        ON c.source = r.source AND c.target = r.target
        AND c.cycle_index >= r.first_index AND c.cycle_index <= r.last_index
    GROUP BY r.source, r.target, c.cycle_index
    UNION ALL
    SELECT source, target, cycle_index, count(CASE WHEN age = 1 THEN 1 END) AS new, max(age) AS max_age
    FROM aged_findings
    GROUP BY source, target, cycle_index
),
per_cycle_ages AS (
    SELECT source, target, cycle_index, CAST(sum(new) AS BIGINT) AS new, max(max_age) AS max_age
    FROM ages
    GROUP BY source, target, cycle_index
),
filled AS (
    SELECT
        c.source,
        c.target,
        c.cycle,
        c.cycle_index,
        c.cycle_time,
        coalesce(p.findings, 0) AS findings,
        coalesce(p.critical, 0) AS critical,
        coalesce(p.high, 0) AS high,
        coalesce(p.medium, 0) AS medium,
        coalesce(p.low, 0) AS low,
        coalesce(a.new, 0) AS new,
        coalesce(a.max_age, 0) AS max_age
    FROM cycles AS c
    LEFT JOIN per_cycle AS p
        ON p.source = c.source AND p.target = c.target AND p.cycle_index = c.cycle_index
    LEFT JOIN per_cycle_ages AS a
        ON a.source = c.source AND a.target = c.target AND a.cycle_index = c.cycle_index
)
SELECT
    source,
    target,
    cycle,
    cycle_index,
    cycle_time,
    findings,
    critical,
    high,
    medium,
    low,
    new,
    findings - new AS persisting,
    -- every finding of the previous cycle either persists (age > 1 now) or was resolved
    lag(findings, 1, 0) OVER (PARTITION BY source, target ORDER BY cycle_index) - (findings - new) AS resolved,
    max_age
FROM filled
ORDER BY source, target, cycle_index
