-- name: history_cycles
-- purpose: one row per system pair and findings cycle: findings per severity, how many are new, persisting and resolved since the previous cycle, and the oldest open drift
-- inputs: aged_findings, cycles
-- params: none
WITH per_cycle AS (
    SELECT
        source,
        target,
        cycle_index,
        count(*) AS findings,
        count(CASE WHEN severity = 'critical' THEN 1 END) AS critical,
        count(CASE WHEN severity = 'high' THEN 1 END) AS high,
        count(CASE WHEN severity = 'medium' THEN 1 END) AS medium,
        count(CASE WHEN severity = 'low' THEN 1 END) AS low,
        count(CASE WHEN age = 1 THEN 1 END) AS new,
        max(age) AS max_age
    FROM aged_findings
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
        coalesce(p.new, 0) AS new,
        coalesce(p.max_age, 0) AS max_age
    FROM cycles AS c
    LEFT JOIN per_cycle AS p
        ON p.source = c.source AND p.target = c.target AND p.cycle_index = c.cycle_index
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
