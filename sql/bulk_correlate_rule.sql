-- name: bulk_correlate_rule
-- purpose: one match rule over the records no earlier rule decided (SEMANTICS.md): a 1:1 candidate pair is a match, every candidate pair of a record with several candidates is ambiguous; returns the earlier rows plus this rule's
-- inputs: correlation, source_keys, target_keys
-- params: $rule
-- source_keys/target_keys: (record_id, value), normalised for the rule; correlation: (rule, source_id, target_id, ambiguous).
WITH open_source AS (
    SELECT k.record_id, k.value
    FROM source_keys AS k
    ANTI JOIN correlation AS c ON c.source_id = k.record_id
),
open_target AS (
    SELECT k.record_id, k.value
    FROM target_keys AS k
    ANTI JOIN correlation AS c ON c.target_id = k.record_id
),
candidates AS (
    SELECT DISTINCT s.record_id AS source_id, t.record_id AS target_id
    FROM open_source AS s
    JOIN open_target AS t ON t.value = s.value
),
degrees AS (
    SELECT
        source_id,
        target_id,
        count(*) OVER (PARTITION BY source_id) AS source_degree,
        count(*) OVER (PARTITION BY target_id) AS target_degree
    FROM candidates
)
SELECT rule, source_id, target_id, ambiguous
FROM correlation
UNION ALL
SELECT CAST($rule AS INTEGER) AS rule, source_id, target_id, source_degree > 1 OR target_degree > 1 AS ambiguous
FROM degrees
