-- name: history_leaver_returns
-- purpose: per source system and leaver exported again after it first left (other than inactive, e.g. rehired; rare): the cycles after leaving it is exported in other than inactive (a bit set)
-- inputs: source_users, cycles, leaver_exports
-- params: none
-- The return probe of history_leavers_bits: every export row's id is tested against the leavers
-- (history_leaver_exports over all the exports), since a leaver may come back anywhere. The
-- probe may run over some of the export files at a time (history() splits them so that the
-- parts run beside the findings' statements): the union of the parts' rows, their sets or-ed per
-- leaver, is the probe of all of them. cycles: as history_leavers_bits takes them (cycle_rank
-- numbers each source's cycles 1, 2, ...; at most 61 per source; a set of cycles is one BIGINT,
-- bit r for rank r), or only those of the given exports (each of them at least): a leaver that
-- first left in the last of a source's cycles there or later cannot be exported after leaving
-- in them, so only the others are probed for.
-- Rows: one per source and leaver exported other than inactive after left_cycle in these exports:
-- later_cycles, those cycles.
WITH source_cycles AS (
    SELECT DISTINCT source AS system, cycle, cycle_rank FROM cycles
),
leavers AS (  -- those that may be exported after leaving in these cycles
    SELECT l.system, l.id, l.left_cycle
    FROM leaver_exports AS l
    JOIN (SELECT system, max(cycle) AS last_cycle FROM source_cycles GROUP BY system) AS c
        ON c.system = l.system AND l.left_cycle < c.last_cycle
    WHERE l.name_cycle IS NULL
),
exported_later AS (  -- a leaver exported active (or with active unknown) after it first left
    SELECT DISTINCT u.system, u.cycle, u.id
    FROM source_users AS u
    JOIN leavers AS f ON f.system = u.system AND f.id = u.id
        -- one condition on both sides, so that no filter on the exports alone makes the planner
        -- take them for the smaller side of the join
        AND CASE WHEN u.active = false THEN NULL ELSE u.cycle END > f.left_cycle
)
SELECT e.system, e.id, bit_or(CAST(1 AS BIGINT) << s.cycle_rank) AS later_cycles
FROM exported_later AS e
JOIN source_cycles AS s ON s.system = e.system AND s.cycle = e.cycle
GROUP BY e.system, e.id
