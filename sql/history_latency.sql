-- name: history_latency
-- purpose: deprovisioning latency per system pair: leavers, resolved, still open, nearest-rank p50/p95 and max of the latency in cycles and hours (resolved leavers only), and the oldest still-open leaver
-- inputs: leavers, cycles
-- params: none
-- leavers: history_leavers (its columns source, target, still_open, latency_cycles, latency_hours,
-- open_cycles and open_hours).
WITH pairs AS (
    SELECT DISTINCT source, target FROM cycles
),
resolved AS (
    SELECT
        source,
        target,
        count(*) AS resolved,
        percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_cycles) AS p50_cycles,
        percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_cycles) AS p95_cycles,
        max(latency_cycles) AS max_cycles,
        percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_hours) AS p50_hours,
        percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_hours) AS p95_hours,
        max(latency_hours) AS max_hours
    FROM leavers
    WHERE NOT still_open
    GROUP BY source, target
),
still AS (
    SELECT source, target, count(*) AS still_open, max(open_cycles) AS oldest_open_cycles,
        max(open_hours) AS oldest_open_hours
    FROM leavers
    WHERE still_open
    GROUP BY source, target
)
SELECT
    p.source,
    p.target,
    coalesce(r.resolved, 0) + coalesce(s.still_open, 0) AS leavers,
    coalesce(r.resolved, 0) AS resolved,
    coalesce(s.still_open, 0) AS still_open,
    r.p50_cycles,
    r.p95_cycles,
    r.max_cycles,
    r.p50_hours,
    r.p95_hours,
    r.max_hours,
    s.oldest_open_cycles,
    s.oldest_open_hours
FROM pairs AS p
LEFT JOIN resolved AS r ON r.source = p.source AND r.target = p.target
LEFT JOIN still AS s ON s.source = p.source AND s.target = p.target
ORDER BY p.source, p.target
