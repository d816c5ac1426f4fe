-- name: history_leavers
-- purpose: per leaver and target: the cycle the source first showed active=false, the first cycle at which the target no longer gave the leaver an active account, the deprovisioning latency between them (cycles and hours), or still open
-- inputs: source_users, findings, cycles
-- params: none
-- cycles: the findings cycles of each pair that also have a complete full export of the source,
-- numbered 1, 2, 3, ... (cycle_index) with cycle_epoch = seconds since 1970 (NULL when unknown).
-- A leaver still has access in a cycle when that cycle has a delayed_deactivation finding for it,
-- or, once the source has hard-deleted it, an orphaned_in_target finding on an active account
-- (severity other than low) for a target account it was matched to while inactive.
-- The exports are read twice, narrowly: the inactive rows (few; the only ones read with the
-- name the user had) find the leavers; then the ids of the other rows are probed against the
-- leavers, to find one exported again after it first left (e.g. rehired, rare). Rows from before
-- a user left never matter. Row order: per pair (source, target), the leavers still open first,
-- the longest open first, then by user_name (NULLs last) and source_id; strings by their bytes.
WITH inactive AS MATERIALIZED (  -- read once: it finds the leavers, numbers their cycles, names them
    SELECT system, cycle, id, user_name FROM source_users WHERE active = false
),
first_left AS (  -- per system and leaver: the first export showing it inactive (every pair's is later)
    SELECT system, id, min(cycle) AS left_cycle FROM inactive GROUP BY system, id
),
exported_later AS (  -- a leaver exported active (or with active unknown) after it first left
    -- (DISTINCT: the per-pair joins below are not planned into this one, on all the exports)
    SELECT DISTINCT u.system, u.cycle, u.id
    FROM source_users AS u
    JOIN first_left AS f ON f.system = u.system AND f.id = u.id
        -- one condition on both sides, so that no filter on the exports alone makes the planner
        -- take them for the smaller side of the join
        AND CASE WHEN u.active = false THEN NULL ELSE u.cycle END > f.left_cycle
),
left_at AS (
    -- per pair and leaver: the first cycle it is inactive in, and the last of its inactive exports;
    -- unbroken: inactive in every cycle from leaving to that last one, once each (a bit per
    -- cycle, exact for runs of up to 63 cycles)
    SELECT
        c.source,
        c.target,
        i.id AS source_id,
        min(c.cycle_index) AS left_index,
        max(c.cycle_index) AS last_inactive,
        count(*) = max(c.cycle_index) - min(c.cycle_index) + 1
            AND max(c.cycle_index) - min(c.cycle_index) < 63
            AND bit_count(bit_or(CAST(1 AS BIGINT) << (c.cycle_index % 63))) = count(*) AS unbroken
    FROM inactive AS i
    JOIN cycles AS c ON c.source = i.system AND c.cycle = i.cycle
    GROUP BY c.source, c.target, i.id
),
last_at AS (
    SELECT source, target, max(cycle_index) AS last_index FROM cycles GROUP BY source, target
),
later_at AS (  -- per pair: the cycles after leaving in which a leaver is exported other than inactive
    SELECT c.source, c.target, l.source_id, c.cycle_index
    FROM exported_later AS e
    JOIN cycles AS c ON c.source = e.system AND c.cycle = e.cycle
    JOIN left_at AS l
        ON l.source = c.source AND l.target = c.target AND l.source_id = e.id AND c.cycle_index > l.left_index
),
looked_up AS (  -- leavers whose exports from leaving on are not one unbroken inactive run (rare)
    SELECT source, target, source_id, left_index FROM left_at WHERE NOT unbroken
    UNION
    SELECT l.source, l.target, l.source_id, l.left_index
    FROM left_at AS l
    SEMI JOIN later_at AS e ON e.source = l.source AND e.target = l.target AND e.source_id = l.source_id
),
lookup_cycles AS (  -- for the looked-up leavers: every cycle after leaving
    SELECT x.source, x.target, x.source_id, c.cycle_index
    FROM looked_up AS x
    JOIN cycles AS c ON c.source = x.source AND c.target = x.target AND c.cycle_index > x.left_index
),
looked_up_exports AS (  -- and the cycles in which the source exports them, inactive or not
    SELECT c.source, c.target, i.id AS source_id, c.cycle_index
    FROM inactive AS i
    JOIN cycles AS c ON c.source = i.system AND c.cycle = i.cycle
    SEMI JOIN looked_up AS x ON x.source = c.source AND x.target = c.target AND x.source_id = i.id
    UNION ALL
    SELECT source, target, source_id, cycle_index FROM later_at
),
deleted_at AS (
    -- the first cycle after leaving in which the source no longer exports the user. Cycles are
    -- numbered without gaps, so for a leaver exported (inactive) in an unbroken run of cycles
    -- from leaving on, and not otherwise (the usual life of an account), that is the cycle after
    -- the run; only the others are looked up cycle by cycle.
    SELECT l.source, l.target, l.source_id, l.last_inactive + 1 AS deleted_index
    FROM left_at AS l
    JOIN last_at AS z ON z.source = l.source AND z.target = l.target
    ANTI JOIN looked_up AS x ON x.source = l.source AND x.target = l.target AND x.source_id = l.source_id
    WHERE l.last_inactive < z.last_index
    UNION ALL
    SELECT c.source, c.target, c.source_id, min(c.cycle_index) AS deleted_index
    FROM lookup_cycles AS c
    ANTI JOIN looked_up_exports AS e
        ON e.source = c.source AND e.target = c.target AND e.source_id = c.source_id
        AND e.cycle_index = c.cycle_index
    GROUP BY c.source, c.target, c.source_id
),
pair_findings AS (
    SELECT f.source, f.target, c.cycle_index, f.kind, f.severity, f.source_id, f.target_id
    FROM findings AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    WHERE f.kind IN ('delayed_deactivation', 'orphaned_in_target')
),
account AS (
    SELECT DISTINCT f.source, f.target, f.source_id, f.target_id
    FROM pair_findings AS f
    JOIN left_at AS l ON l.source = f.source AND l.target = f.target AND l.source_id = f.source_id
    WHERE f.kind = 'delayed_deactivation' AND f.target_id IS NOT NULL
),
first_account AS (
    SELECT source, target, source_id, min(target_id) AS target_id
    FROM account
    GROUP BY source, target, source_id
),
has_access AS (
    SELECT l.source, l.target, l.source_id, f.cycle_index
    FROM left_at AS l
    JOIN pair_findings AS f
        ON f.source = l.source AND f.target = l.target AND f.source_id = l.source_id
        AND f.kind = 'delayed_deactivation' AND f.cycle_index >= l.left_index
    UNION
    SELECT d.source, d.target, d.source_id, f.cycle_index
    FROM deleted_at AS d
    JOIN account AS a ON a.source = d.source AND a.target = d.target AND a.source_id = d.source_id
    JOIN pair_findings AS f
        ON f.source = a.source AND f.target = a.target AND f.target_id = a.target_id
        AND f.kind = 'orphaned_in_target' AND f.severity <> 'low' AND f.cycle_index >= d.deleted_index
),
access AS (  -- per leaver: the cycles (all at or after leaving) in which it had access
    SELECT source, target, source_id, min(cycle_index) AS first_access, max(cycle_index) AS last_access,
        count(*) AS access_cycles
    FROM has_access
    GROUP BY source, target, source_id
),
resolved_at AS (
    -- the first cycle at or after leaving without access: the leaving cycle itself when the
    -- leaver had no access then; after an unbroken run of access from leaving on, the cycle
    -- after the run (none when the run reaches the latest cycle); else looked up cycle by cycle
    SELECT l.source, l.target, l.source_id, l.left_index AS resolved_index
    FROM left_at AS l
    LEFT JOIN access AS a ON a.source = l.source AND a.target = l.target AND a.source_id = l.source_id
    WHERE a.source_id IS NULL OR a.first_access > l.left_index
    UNION ALL
    SELECT a.source, a.target, a.source_id, a.last_access + 1 AS resolved_index
    FROM access AS a
    JOIN left_at AS l ON l.source = a.source AND l.target = a.target AND l.source_id = a.source_id
    JOIN last_at AS z ON z.source = a.source AND z.target = a.target
    WHERE a.first_access = l.left_index AND a.access_cycles = a.last_access - a.first_access + 1
        AND a.last_access < z.last_index
    UNION ALL
    SELECT l.source, l.target, l.source_id, min(c.cycle_index) AS resolved_index
    FROM left_at AS l
    JOIN access AS a ON a.source = l.source AND a.target = l.target AND a.source_id = l.source_id
    JOIN cycles AS c ON c.source = l.source AND c.target = l.target AND c.cycle_index >= l.left_index
    LEFT JOIN has_access AS h
        ON h.source = l.source AND h.target = l.target AND h.source_id = l.source_id
        AND h.cycle_index = c.cycle_index
    WHERE a.first_access = l.left_index AND a.access_cycles <> a.last_access - a.first_access + 1
        AND h.source_id IS NULL
    GROUP BY l.source, l.target, l.source_id
)
SELECT
    l.source,
    l.target,
    l.source_id,
    n.user_name,
    fa.target_id,
    lc.cycle AS left_cycle,
    dc.cycle AS deleted_cycle,
    rc.cycle AS resolved_cycle,
    r.resolved_index - l.left_index AS latency_cycles,
    (rc.cycle_epoch - lc.cycle_epoch) / 3600.0 AS latency_hours,
    r.resolved_index IS NULL AS still_open,
    -- cycles in which the leaver kept access after leaving (for an open one: so far)
    coalesce(r.resolved_index, z.last_index + 1) - l.left_index AS open_cycles,
    (coalesce(rc.cycle_epoch, zc.cycle_epoch) - lc.cycle_epoch) / 3600.0 AS open_hours
FROM left_at AS l
JOIN cycles AS lc ON lc.source = l.source AND lc.target = l.target AND lc.cycle_index = l.left_index
JOIN inactive AS n ON n.system = l.source AND n.cycle = lc.cycle AND n.id = l.source_id
JOIN last_at AS z ON z.source = l.source AND z.target = l.target
JOIN cycles AS zc ON zc.source = z.source AND zc.target = z.target AND zc.cycle_index = z.last_index
LEFT JOIN deleted_at AS d ON d.source = l.source AND d.target = l.target AND d.source_id = l.source_id
LEFT JOIN cycles AS dc ON dc.source = d.source AND dc.target = d.target AND dc.cycle_index = d.deleted_index
LEFT JOIN resolved_at AS r ON r.source = l.source AND r.target = l.target AND r.source_id = l.source_id
LEFT JOIN cycles AS rc ON rc.source = r.source AND rc.target = r.target AND rc.cycle_index = r.resolved_index
LEFT JOIN first_account AS fa
    ON fa.source = l.source AND fa.target = l.target AND fa.source_id = l.source_id
ORDER BY source, target, still_open DESC, open_cycles DESC, user_name, source_id
