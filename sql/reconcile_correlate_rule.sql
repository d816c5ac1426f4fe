-- name: reconcile_correlate_rule
-- purpose: apply one match rule to the records no earlier rule decided: a 1:1 candidate pair is a match, every candidate pair of a record with more than one candidate is ambiguous; returns the earlier rows plus this rule's
-- inputs: correlation, match_keys
-- params: $rule
-- match_keys: (side 'source'|'target', record_id, value), at most one value per record,
-- normalised for the rule; correlation: (rule, source_id, target_id, ambiguous) so far.
-- Every record has one value, so the candidates of a value are all source records with it times
-- all target records with it: counting per value finds the 1:1 pairs without a join, and only
-- the (rare) values shared by several records on one side are expanded into pairs.
WITH open_keys AS (
    SELECT k.side, k.record_id, k.value
    FROM match_keys AS k
    ANTI JOIN correlation AS c ON c.source_id = k.record_id
    WHERE k.side = 'source'
    UNION ALL
    SELECT k.side, k.record_id, k.value
    FROM match_keys AS k
    ANTI JOIN correlation AS c ON c.target_id = k.record_id
    WHERE k.side = 'target'
),
per_value AS (
    SELECT
        value,
        count(*) FILTER (WHERE side = 'source') AS sources,
        count(*) FILTER (WHERE side = 'target') AS targets,
        -- min, not any_value: the same id where a side has one record (the only rows used), and
        -- Spark has no any_value that skips NULLs under a FILTER
        min(record_id) FILTER (WHERE side = 'source') AS source_id,
        min(record_id) FILTER (WHERE side = 'target') AS target_id
    FROM open_keys
    GROUP BY value
),
shared_values AS (
    SELECT value FROM per_value WHERE sources > 0 AND targets > 0 AND (sources > 1 OR targets > 1)
),
-- read from match_keys again rather than from open_keys: a CTE read twice is materialised,
-- which costs more than filtering the keys again for the few shared values
shared_keys AS (
    SELECT k.side, k.record_id, k.value
    FROM match_keys AS k
    SEMI JOIN shared_values AS v ON v.value = k.value
    ANTI JOIN correlation AS c ON c.source_id = k.record_id
    WHERE k.side = 'source'
    UNION ALL
    SELECT k.side, k.record_id, k.value
    FROM match_keys AS k
    SEMI JOIN shared_values AS v ON v.value = k.value
    ANTI JOIN correlation AS c ON c.target_id = k.record_id
    WHERE k.side = 'target'
),
ambiguous AS (
    SELECT s.record_id AS source_id, t.record_id AS target_id
    FROM shared_keys AS s
    JOIN shared_keys AS t ON t.value = s.value
    WHERE s.side = 'source' AND t.side = 'target'
)
SELECT rule, source_id, target_id, ambiguous
FROM correlation
UNION ALL
SELECT CAST($rule AS INTEGER) AS rule, source_id, target_id, false AS ambiguous
FROM per_value
WHERE sources = 1 AND targets = 1
UNION ALL
SELECT CAST($rule AS INTEGER) AS rule, source_id, target_id, true AS ambiguous
FROM ambiguous
