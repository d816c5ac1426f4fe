-- name: bulk_located
-- purpose: per bulk operation, the target resource it acted on (a POST without a created id located through its lookup attribute when exactly one target resource has that value), with that resource's raw JSON where the operation has a value to check
-- inputs: bulk_ops, bulk_value_seqs, target_users, target_groups
-- params: none
--
-- bulk_ops: one row per operation (seq, resource_type, resource_id, lookup_attribute,
--   lookup_value, lookup_case_exact, …), as for bulk_outcomes.
-- bulk_value_seqs: (seq) of the operations with a value check; only their resources' raw is
--   read (recon.bulk.expect decides on it whether each value landed, with recon.content).
WITH lookup_values AS (
    SELECT 'User' AS resource_type, id, 'user_name' AS attribute, user_name AS value FROM target_users
    UNION ALL SELECT 'User', id, 'external_id', external_id FROM target_users
    UNION ALL SELECT 'Group', id, 'external_id', external_id FROM target_groups
    UNION ALL SELECT 'Group', id, 'display_name', display_name FROM target_groups
),
looked_up AS (
    SELECT o.seq, min(v.id) AS id, count(*) AS candidates
    FROM bulk_ops AS o
    JOIN lookup_values AS v
        ON v.resource_type = o.resource_type
        AND v.attribute = o.lookup_attribute
        AND CASE WHEN o.lookup_case_exact THEN v.value = o.lookup_value
                 ELSE lower(v.value) = lower(o.lookup_value) END
    WHERE o.resource_id IS NULL AND o.lookup_attribute IS NOT NULL
    GROUP BY o.seq
),
located AS (
    SELECT
        o.seq,
        o.resource_type,
        coalesce(o.resource_id, CASE WHEN l.candidates = 1 THEN l.id END) AS effective_id,
        s.seq IS NOT NULL AS has_values
    FROM bulk_ops AS o
    LEFT JOIN looked_up AS l ON l.seq = o.seq
    LEFT JOIN (SELECT DISTINCT seq FROM bulk_value_seqs) AS s ON s.seq = o.seq
),
raws AS (
    SELECT 'User' AS resource_type, u.id, u.raw
    FROM target_users AS u
    SEMI JOIN located AS l ON l.has_values AND l.resource_type = 'User' AND l.effective_id = u.id
    UNION ALL
    SELECT 'Group' AS resource_type, g.id, g.raw
    FROM target_groups AS g
    SEMI JOIN located AS l ON l.has_values AND l.resource_type = 'Group' AND l.effective_id = g.id
)
SELECT l.seq, l.resource_type, l.effective_id, r.raw
FROM located AS l
LEFT JOIN raws AS r
    ON l.has_values AND r.resource_type = l.resource_type AND r.id = l.effective_id
