-- name: reconcile_user_match_keys
-- purpose: the value each source and target user offers to one match rule (a flattened column or a JSON path into raw), lower-cased unless case-exact; unassigned values (null, "") offer nothing; each key carries its user's active flag
-- inputs: source_users, target_users
-- params: $source_column, $source_json_path, $target_column, $target_json_path, $case_exact
-- Per side Python passes either a column name or a JSON path, the other NULL; DuckDB folds the
-- CASE on these constants, so only the needed column is scanned.
-- active: the user's active flag, carried by the correlation to each pair (source_active,
-- target_active), so the activity findings need no join of every pair to the accounts
-- (reconcile_correlate_rule, reconcile_user_findings).
WITH picked AS (
    SELECT
        'source' AS side,
        id,
        CASE
            WHEN $source_json_path IS NOT NULL THEN json_extract_string(raw, $source_json_path)
            ELSE CASE $source_column
                WHEN 'id' THEN id
                WHEN 'external_id' THEN external_id
                WHEN 'user_name' THEN user_name
                WHEN 'display_name' THEN display_name
                WHEN 'given_name' THEN given_name
                WHEN 'family_name' THEN family_name
                WHEN 'primary_email' THEN primary_email
                WHEN 'employee_number' THEN employee_number
                WHEN 'department' THEN department
                WHEN 'title' THEN title
                WHEN 'user_type' THEN user_type
                WHEN 'version' THEN version
            END
        END AS value,
        active
    FROM source_users
    UNION ALL
    SELECT
        'target' AS side,
        id,
        CASE
            WHEN $target_json_path IS NOT NULL THEN json_extract_string(raw, $target_json_path)
            ELSE CASE $target_column
                WHEN 'id' THEN id
                WHEN 'external_id' THEN external_id
                WHEN 'user_name' THEN user_name
                WHEN 'display_name' THEN display_name
                WHEN 'given_name' THEN given_name
                WHEN 'family_name' THEN family_name
                WHEN 'primary_email' THEN primary_email
                WHEN 'employee_number' THEN employee_number
                WHEN 'department' THEN department
                WHEN 'title' THEN title
                WHEN 'user_type' THEN user_type
                WHEN 'version' THEN version
            END
        END AS value,
        active
    FROM target_users
)
SELECT
    side,
    id AS record_id,
    CASE WHEN $case_exact THEN value ELSE lower(value) END AS value,
    active
FROM picked
WHERE value IS NOT NULL AND value <> ''
