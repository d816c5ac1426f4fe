-- name: reconcile_examples
-- purpose: the first $per_kind findings of each kind, in findings order (for the console summary)
-- inputs: findings
-- params: $per_kind
WITH numbered AS (
    SELECT
        kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
        attribute, source_value, target_value, detail,
        row_number() OVER (
            PARTITION BY kind
            ORDER BY source_id NULLS FIRST, target_id NULLS FIRST, group_id NULLS FIRST,
                target_group_id NULLS FIRST, attribute NULLS FIRST
        ) AS n
    FROM findings
)
SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
    attribute, source_value, target_value, detail
FROM numbered
WHERE n <= $per_kind
ORDER BY kind, n
