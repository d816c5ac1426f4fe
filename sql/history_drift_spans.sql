-- name: history_drift_spans
-- purpose: per finding identity: the first and last findings cycle it appears in, whether it appears in every cycle between them exactly once (then its open-drift age in a cycle is the cycles since the first, plus one), and the set of cycles it appears in
-- inputs: findings, cycles
-- params: none
-- A finding's identity across cycles is (source, target, kind, source_id, target_id, group_id,
-- target_group_id, attribute); GROUP BY puts NULLs together, as identity needs. cycles numbers
-- every findings cycle of a pair 1, 2, 3, ... (cycles with no findings included), so a cycle
-- without the finding breaks its run. One pass over the narrow identity columns, no join back to
-- the rows: the statements that need ages per cycle take them from these spans, and only the
-- identities that are not one clean run (history_drift_age) are aged row by row.
-- cycles: its cycle_rank numbers each source's cycles 1, 2, ... (over all its pairs).
-- cycle_set: the cycles the identity appears in, bit cycle_rank % 62 of one BIGINT (exact when the
-- source has at most 61 cycles: history_leavers_bits reads the sets of delayed_deactivation
-- findings from here, not from a second read of the findings).
-- unbroken: as many rows as cycles from the first to the last, on as many distinct cycles: the
-- bits set in cycle_set are at most the distinct cycles (two cycles may share a bit when the
-- source has more than 61), so as many bits as rows proves it; a run of 63 cycles or more, or
-- one whose cycles share a bit, is aged row by row.
SELECT
    f.source,
    f.target,
    f.kind,
    f.source_id,
    f.target_id,
    f.group_id,
    f.target_group_id,
    f.attribute,
    min(c.cycle_index) AS first_index,
    max(c.cycle_index) AS last_index,
    count(*) = max(c.cycle_index) - min(c.cycle_index) + 1
        AND max(c.cycle_index) - min(c.cycle_index) < 63
        AND bit_count(bit_or(CAST(1 AS BIGINT) << (c.cycle_rank % 62))) = count(*) AS unbroken,
    bit_or(CAST(1 AS BIGINT) << (c.cycle_rank % 62)) AS cycle_set
FROM findings AS f
JOIN cycles AS c ON c.source = f.source AND c.target = f.target AND c.cycle = f.cycle
WHERE f.kind IS NOT NULL
GROUP BY f.source, f.target, f.kind, f.source_id, f.target_id, f.group_id, f.target_group_id, f.attribute
