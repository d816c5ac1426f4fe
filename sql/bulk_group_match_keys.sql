-- name: bulk_group_match_keys
-- purpose: the value each group offers to one match rule (for the correlation a plan needs): a flattened column or a JSON path into raw, lower-cased unless case-exact; unassigned values offer nothing
-- inputs: groups
-- params: $column_name, $json_path, $case_exact
WITH picked AS (
    SELECT
        id,
        CASE
            WHEN $json_path IS NOT NULL THEN json_extract_string(raw, $json_path)
            ELSE CASE $column_name
                WHEN 'id' THEN id
                WHEN 'external_id' THEN external_id
                WHEN 'display_name' THEN display_name
            END
        END AS value
    FROM groups
)
SELECT id AS record_id, CASE WHEN $case_exact THEN value ELSE lower(value) END AS value
FROM picked
WHERE value IS NOT NULL AND value <> ''
