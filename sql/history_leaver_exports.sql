-- name: history_leaver_exports
-- purpose: per source system and leaver (a user some export shows active=false): the first export showing it inactive, the cycles it is exported inactive in and the cycles it is exported in from leaving on (bit sets), and its name
-- inputs: source_users, cycles
-- params: none
-- The exports' half of history_leavers_bits, which takes these rows as leaver_exports (kept as a
-- table: its joins then read the ids with column statistics). cycles: as history_leavers_bits
-- takes them (cycle_rank numbers each source's cycles 1, 2, ...; at most 61 per source); a set
-- of cycles is one BIGINT, bit r for rank r. The exports are read twice, narrowly: the inactive rows (few; the only ones read with
-- the name the user had) find the leavers; then the ids of all the rows are probed against the
-- leavers, to find one exported again after it first left (e.g. rehired, rare).
-- Rows: one per leaver with name_cycle NULL: left_cycle, inactive_cycles, exported_cycles (the
-- inactive ones and those after left_cycle in which it is exported other than inactive),
-- user_name (the least of its names) and one_name (one row per inactive cycle, all of them with
-- the same user name, which is then its name in every pair's leaving cycle). A leaver that is not
-- one_name (rare) has one more row per inactive export row: name_cycle that export's cycle,
-- user_name the name in it, the other columns NULL.
WITH source_cycles AS (
    SELECT DISTINCT source AS system, cycle, cycle_rank FROM cycles
),
inactive AS MATERIALIZED (  -- read once: it finds the leavers, their cycles and names
    SELECT system, cycle, id, user_name FROM source_users WHERE active = false
),
leaver_sets AS (
    SELECT
        i.system,
        i.id,
        min(i.cycle) AS left_cycle,
        bit_or(CAST(1 AS BIGINT) << s.cycle_rank) AS inactive_cycles,
        min(i.user_name) AS user_name,
        bit_count(bit_or(CAST(1 AS BIGINT) << s.cycle_rank)) = count(*)
            AND (count(i.user_name) = 0 OR count(i.user_name) = count(*) AND min(i.user_name) = max(i.user_name))
            AS one_name
    FROM inactive AS i
    JOIN source_cycles AS s ON s.system = i.system AND s.cycle = i.cycle
    WHERE i.id IS NOT NULL
    GROUP BY i.system, i.id
),
exported_later AS (  -- a leaver exported active (or with active unknown) after it first left
    SELECT DISTINCT u.system, u.cycle, u.id
    FROM source_users AS u
    JOIN leaver_sets AS f ON f.system = u.system AND f.id = u.id
        -- one condition on both sides, so that no filter on the exports alone makes the planner
        -- take them for the smaller side of the join
        AND CASE WHEN u.active = false THEN NULL ELSE u.cycle END > f.left_cycle
),
later_sets AS (  -- per source and leaver: the cycles after it first left in which it is exported other than inactive
    SELECT e.system, e.id, bit_or(CAST(1 AS BIGINT) << s.cycle_rank) AS later_cycles
    FROM exported_later AS e
    JOIN source_cycles AS s ON s.system = e.system AND s.cycle = e.cycle
    GROUP BY e.system, e.id
),
several_names AS (
    SELECT system, id FROM leaver_sets WHERE NOT one_name
)
SELECT
    l.system,
    l.id,
    l.left_cycle,
    l.inactive_cycles,
    l.inactive_cycles | coalesce(e.later_cycles, 0) AS exported_cycles,
    l.user_name,
    l.one_name,
    CAST(NULL AS VARCHAR) AS name_cycle
FROM leaver_sets AS l
LEFT JOIN later_sets AS e ON e.system = l.system AND e.id = l.id
UNION ALL
SELECT
    i.system,
    i.id,
    CAST(NULL AS VARCHAR) AS left_cycle,
    CAST(NULL AS BIGINT) AS inactive_cycles,
    CAST(NULL AS BIGINT) AS exported_cycles,
    i.user_name,
    CAST(NULL AS BOOLEAN) AS one_name,
    i.cycle AS name_cycle
FROM inactive AS i
SEMI JOIN several_names AS n ON n.system = i.system AND n.id = i.id
