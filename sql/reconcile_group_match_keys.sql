-- name: reconcile_group_match_keys
-- purpose: the value each source and target group offers to one match rule (a flattened column or a JSON path into raw), lower-cased unless case-exact; unassigned values (null, "") offer nothing
-- inputs: source_groups, target_groups
-- params: $source_column, $source_json_path, $target_column, $target_json_path, $case_exact
-- active: NULL (groups have no active flag; reconcile_correlate_rule reads users' and groups' keys).
WITH picked AS (
    SELECT
        'source' AS side,
        id,
        CASE
            WHEN $source_json_path IS NOT NULL THEN json_extract_string(raw, $source_json_path)
            ELSE CASE $source_column
                WHEN 'id' THEN id
                WHEN 'external_id' THEN external_id
                WHEN 'display_name' THEN display_name
            END
        END AS value
    FROM source_groups
    UNION ALL
    SELECT
        'target' AS side,
        id,
        CASE
            WHEN $target_json_path IS NOT NULL THEN json_extract_string(raw, $target_json_path)
            ELSE CASE $target_column
                WHEN 'id' THEN id
                WHEN 'external_id' THEN external_id
                WHEN 'display_name' THEN display_name
            END
        END AS value
    FROM target_groups
)
SELECT
    side,
    id AS record_id,
    CASE WHEN $case_exact THEN value ELSE lower(value) END AS value,
    CAST(NULL AS BOOLEAN) AS active
FROM picked
WHERE value IS NOT NULL AND value <> ''
