-- name: history_leaver_delayed
-- purpose: per system pair and source user with delayed_deactivation findings: the cycles of those findings, its first target account in a cycle with a source export, and the cycles in which an account it was matched to is orphaned in the target and still active (bit sets)
-- inputs: findings, cycles, drift_spans
-- params: none
-- The findings' half of history_leavers_bits, which takes these rows as leaver_delayed (kept: it
-- reads no export, so it runs beside history_leaver_exports). cycles: as history_leavers_bits
-- takes them (the pairs' cycles that have a source export; cycle_rank numbers each source's
-- cycles 1, 2, ... as the cycles of drift_spans do; at most 61 per source); a set of cycles is one
-- BIGINT, bit r for rank r. drift_spans: history_drift_spans over all the findings cycles; the
-- spans of the delayed_deactivation identities carry the cycles they appear in (those without a
-- source export fall outside the pair's cycles), so the delayed findings are not read again.
-- Rows: one per pair and source user of some delayed_deactivation finding: delayed_cycles (the
-- cycles of its findings), target_id (the least target account of the findings in a cycle with a
-- source export) and orphaned_cycles (the cycles, with a source export, in which an account it
-- was matched to has an orphaned_in_target finding of severity other than low).
WITH pair_sets AS (  -- per pair: its cycles
    SELECT source, target, bit_or(CAST(1 AS BIGINT) << cycle_rank) AS pair_cycles
    FROM cycles
    GROUP BY source, target
),
orphaned AS (  -- per pair and target account: the cycles it is orphaned in and still active
    SELECT f.source, f.target, f.target_id, bit_or(CAST(1 AS BIGINT) << c.cycle_rank) AS orphaned_cycles
    FROM findings AS f
    JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
    WHERE f.kind = 'orphaned_in_target' AND f.severity <> 'low'
    GROUP BY f.source, f.target, f.target_id
)
SELECT
    s.source,
    s.target,
    s.source_id,
    bit_or(s.cycle_set) AS delayed_cycles,
    min(s.target_id) FILTER (WHERE s.cycle_set & p.pair_cycles <> 0) AS target_id,
    bit_or(o.orphaned_cycles) FILTER (WHERE s.cycle_set & p.pair_cycles <> 0) AS orphaned_cycles
FROM drift_spans AS s
JOIN pair_sets AS p ON p.source = s.source AND p.target = s.target
LEFT JOIN orphaned AS o ON o.source = s.source AND o.target = s.target AND o.target_id = s.target_id
WHERE s.kind = 'delayed_deactivation'
GROUP BY s.source, s.target, s.source_id
