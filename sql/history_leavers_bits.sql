-- name: history_leavers_bits
-- purpose: history_leavers for sources of at most 61 cycles, with a bit per cycle: per leaver and target, the cycle the source first showed active=false, the first cycle at which the target no longer gave the leaver an active account, the deprovisioning latency between them (cycles and hours), or still open
-- inputs: leaver_exports, cycles, leaver_delayed
-- params: none
-- The same rows as history_leavers (its header says what each column means); the caller runs
-- this statement only when each source has at most 61 findings cycles. cycles: the pairs' cycles
-- that have a source export, cycle_rank numbering each source's cycles 1, 2, ... as the cycles
-- of history_drift_spans over all the findings cycles do; a set of cycles is one BIGINT, bit r
-- for rank r. leaver_exports: history_leaver_exports over the source exports and these cycles;
-- leaver_delayed: history_leaver_delayed over the findings, these cycles and the spans. Per
-- leaver, a few sets decide everything: the pair's cycles, the cycles the source exports it in
-- (inactive, or again after leaving: from leaver_exports), those of its delayed_deactivation
-- findings and those of orphaned_in_target findings (severity other than low) on a target
-- account it was matched to (both from leaver_delayed). "The first cycle of set s" is the lowest
-- set bit: bit_count((s - 1) & ~s) (s > 0, s < 2^62). The leavers are found once per source (not
-- once per pair), and one aggregate per set replaces distinct unions and cycle-by-cycle
-- look-ups. The rows are in history_leavers' order (its header says which).
WITH ranked AS (  -- every pair's cycles, with their rank among the cycles of the source
    SELECT source, target, cycle, cycle_index, cycle_epoch, cycle_rank FROM cycles
),
pair_sets AS (  -- per pair: its cycles, and the index of its last one
    SELECT
        source,
        target,
        bit_or(CAST(1 AS BIGINT) << cycle_rank) AS pair_cycles,
        max(cycle_index) AS last_index
    FROM ranked
    GROUP BY source, target
),
exported AS (  -- per source and leaver: its sets (history_leaver_exports)
    SELECT system, id, inactive_cycles, exported_cycles, user_name, one_name
    FROM leaver_exports
    WHERE name_cycle IS NULL
),
left_at AS (  -- per pair and leaver (inactive in some cycle of the pair): its sets
    SELECT
        p.source,
        p.target,
        l.id AS source_id,
        l.user_name AS least_name,
        l.one_name,
        p.pair_cycles,
        p.last_index,
        l.inactive_cycles & p.pair_cycles AS left_cycles,
        l.exported_cycles
    FROM exported AS l
    JOIN pair_sets AS p ON p.source = l.system
    WHERE l.inactive_cycles & p.pair_cycles <> 0
),
left_rank AS (
    SELECT
        *,
        CAST(bit_count((left_cycles - 1) & ~left_cycles) AS BIGINT) AS left_rank
    FROM left_at
),
not_exported AS (  -- the pair's cycles after leaving in which the source does not export the leaver
    SELECT
        l.*,
        d.target_id,
        coalesce(d.delayed_cycles, 0) AS delayed_cycles,
        coalesce(d.orphaned_cycles, 0) AS orphaned_cycles,
        ((l.pair_cycles & ~l.exported_cycles) >> (l.left_rank + 1)) << (l.left_rank + 1) AS gone_cycles
    FROM left_rank AS l
    LEFT JOIN leaver_delayed AS d ON d.source = l.source AND d.target = l.target AND d.source_id = l.source_id
),
deleted_at AS (  -- the first of them (none: exported in every cycle after leaving)
    SELECT
        *,
        CASE
            WHEN gone_cycles <> 0 THEN CAST(bit_count((gone_cycles - 1) & ~gone_cycles) AS BIGINT)
        END AS deleted_rank
    FROM not_exported
),
no_access AS (
    -- the pair's cycles from leaving on without access: a delayed_deactivation finding, or from
    -- the cycle the source no longer exports the leaver, an orphaned_in_target one on its account
    SELECT
        *,
        ((pair_cycles
            & ~(delayed_cycles
                | CASE
                    WHEN deleted_rank IS NOT NULL THEN (orphaned_cycles >> deleted_rank) << deleted_rank
                    ELSE 0
                END)) >> left_rank) << left_rank AS open_cycles_set
    FROM deleted_at
),
decided AS (
    SELECT
        a.source,
        a.target,
        a.source_id,
        a.least_name,
        a.one_name,
        a.target_id,
        a.last_index,
        lc.cycle AS left_cycle,
        lc.cycle_index AS left_index,
        lc.cycle_epoch AS left_epoch,
        dc.cycle AS deleted_cycle,
        rc.cycle AS resolved_cycle,
        rc.cycle_index AS resolved_index,
        rc.cycle_epoch AS resolved_epoch,
        zc.cycle_epoch AS last_epoch
    FROM no_access AS a
    JOIN ranked AS zc ON zc.source = a.source AND zc.target = a.target AND zc.cycle_index = a.last_index
    JOIN ranked AS lc ON lc.source = a.source AND lc.target = a.target AND lc.cycle_rank = a.left_rank
    LEFT JOIN ranked AS dc ON dc.source = a.source AND dc.target = a.target AND dc.cycle_rank = a.deleted_rank
    LEFT JOIN ranked AS rc
        ON rc.source = a.source AND rc.target = a.target
        AND rc.cycle_rank = CASE
            WHEN a.open_cycles_set <> 0
                THEN CAST(bit_count((a.open_cycles_set - 1) & ~a.open_cycles_set) AS BIGINT)
        END
),
named AS (
    -- the name in the leaving cycle: a leaver of one name has it; one with several is joined to
    -- its names in that cycle (one row per name: it may be exported twice there), and has one
    -- there, since it is inactive in its leaving cycle
    SELECT d.*, CASE WHEN d.one_name THEN d.least_name ELSE n.user_name END AS name
    FROM decided AS d
    LEFT JOIN leaver_exports AS n
        ON NOT d.one_name AND n.system = d.source AND n.name_cycle = d.left_cycle AND n.id = d.source_id
)
SELECT
    l.source,
    l.target,
    l.source_id,
    l.name AS user_name,
    l.target_id,
    l.left_cycle,
    l.deleted_cycle,
    l.resolved_cycle,
    l.resolved_index - l.left_index AS latency_cycles,
    (l.resolved_epoch - l.left_epoch) / 3600.0 AS latency_hours,
    l.resolved_index IS NULL AS still_open,
    -- cycles in which the leaver kept access after leaving (for an open one: so far)
    coalesce(l.resolved_index, l.last_index + 1) - l.left_index AS open_cycles,
    (coalesce(l.resolved_epoch, l.last_epoch) - l.left_epoch) / 3600.0 AS open_hours
FROM named AS l
ORDER BY source, target, still_open DESC, open_cycles DESC, user_name, source_id
