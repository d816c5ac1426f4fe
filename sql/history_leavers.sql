-- name: history_leavers
-- purpose: per leaver and target: the cycle the source first showed active=false, the first cycle at which the target no longer gave the leaver an active account, the deprovisioning latency between them (cycles and hours), or still open
-- inputs: source_users, findings, cycles
-- params: none
-- cycles: the findings cycles of each pair that also have a complete full export of the source,
-- numbered 1, 2, 3, ... (cycle_index) with cycle_epoch = seconds since 1970 (NULL when unknown).
-- A leaver still has access in a cycle when that cycle has a delayed_deactivation finding for it,
-- or, once the source has hard-deleted it, an orphaned_in_target finding on an active account
-- (severity other than low) for a target account it was matched to while inactive.
WITH inactive AS (  -- narrow first: only users that are inactive somewhere can be leavers
    SELECT DISTINCT system, id FROM source_users WHERE active = false
),
leaver_rows AS (  -- one pass over the exports, probing the (small) set of leavers: no row per pair yet
    SELECT u.system, u.cycle, u.id, u.user_name, u.active
    FROM source_users AS u
    SEMI JOIN inactive AS i ON i.system = u.system AND i.id = u.id
),
observed AS (
    SELECT c.source, c.target, c.cycle_index, u.id AS source_id, u.user_name, u.active
    FROM leaver_rows AS u
    JOIN cycles AS c ON c.source = u.system AND c.cycle = u.cycle
),
last_at AS (
    SELECT source, target, max(cycle_index) AS last_index FROM cycles GROUP BY source, target
),
seen AS (  -- per pair and user: the first cycle it is inactive in, and the cycles it is exported in
    SELECT
        source,
        target,
        source_id,
        min(CASE WHEN active = false THEN cycle_index END) AS left_index,
        min(cycle_index) AS first_seen,
        max(cycle_index) AS last_seen,
        count(DISTINCT cycle_index) AS seen_cycles
    FROM observed
    GROUP BY source, target, source_id
),
left_at AS (
    SELECT source, target, source_id, left_index FROM seen WHERE left_index IS NOT NULL
),
deleted_at AS (
    -- the first cycle after leaving in which the source no longer exports the user. Cycles are
    -- numbered without gaps, so for a user exported in an unbroken run of cycles (the usual
    -- life of an account) that is the cycle after its last one; only the others are looked up
    -- cycle by cycle.
    SELECT s.source, s.target, s.source_id, s.last_seen + 1 AS deleted_index
    FROM seen AS s
    JOIN last_at AS z ON z.source = s.source AND z.target = s.target
    WHERE s.left_index IS NOT NULL AND s.seen_cycles = s.last_seen - s.first_seen + 1
        AND s.last_seen < z.last_index
    UNION ALL
    SELECT l.source, l.target, l.source_id, min(c.cycle_index) AS deleted_index
    FROM seen AS l
    JOIN cycles AS c ON c.source = l.source AND c.target = l.target AND c.cycle_index > l.left_index
    LEFT JOIN observed AS o
        ON o.source = l.source AND o.target = l.target AND o.cycle_index = c.cycle_index
        AND o.source_id = l.source_id
    WHERE l.left_index IS NOT NULL AND l.seen_cycles <> l.last_seen - l.first_seen + 1
        AND o.source_id IS NULL
    GROUP BY l.source, l.target, l.source_id
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
JOIN observed AS n ON n.source = l.source AND n.target = l.target AND n.source_id = l.source_id
    AND n.cycle_index = l.left_index
JOIN cycles AS lc ON lc.source = l.source AND lc.target = l.target AND lc.cycle_index = l.left_index
JOIN last_at AS z ON z.source = l.source AND z.target = l.target
JOIN cycles AS zc ON zc.source = z.source AND zc.target = z.target AND zc.cycle_index = z.last_index
LEFT JOIN deleted_at AS d ON d.source = l.source AND d.target = l.target AND d.source_id = l.source_id
LEFT JOIN cycles AS dc ON dc.source = d.source AND dc.target = d.target AND dc.cycle_index = d.deleted_index
LEFT JOIN resolved_at AS r ON r.source = l.source AND r.target = l.target AND r.source_id = l.source_id
LEFT JOIN cycles AS rc ON rc.source = r.source AND rc.target = r.target AND rc.cycle_index = r.resolved_index
LEFT JOIN first_account AS fa
    ON fa.source = l.source AND fa.target = l.target AND fa.source_id = l.source_id
ORDER BY l.source, l.target, still_open DESC, open_cycles DESC, n.user_name, l.source_id
