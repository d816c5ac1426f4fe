-- name: bulk_user_match_keys
-- purpose: the value each user offers to one match rule (for the correlation a plan needs): a flattened column or a JSON path into raw, lower-cased unless case-exact; unassigned values offer nothing
-- inputs: users
-- params: $column_name, $json_path, $case_exact
-- Python passes either $column_name (a flattened column) or $json_path (read from raw), the other NULL.
WITH picked AS (
    SELECT
        id,
        CASE
            WHEN $json_path IS NOT NULL THEN json_extract_string(raw, $json_path)
            ELSE CASE $column_name
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
            END
        END AS value
    FROM users
)
SELECT id AS record_id, CASE WHEN $case_exact THEN value ELSE lower(value) END AS value
FROM picked
WHERE value IS NOT NULL AND value <> ''
