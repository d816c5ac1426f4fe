-- name: reconcile_attribute_column_fingerprints
-- purpose: a 64-bit fingerprint per user (keyed by a 64-bit hash of its id) of its normalised compared values when every compared attribute is a flattened column (the default compare list): plain column expressions, no per-attribute lists
-- inputs: source_users, target_users
-- params: $columns, $lower_columns
-- $columns: the flattened columns compared; $lower_columns: those compared case-insensitively.
-- DuckDB folds the list_contains() on these constants, so an unread column is a NULL constant
-- and is not scanned. Unassigned ("" or null) is NULL; timestamps compare as instants. Two
-- users get equal fingerprints when their normalised values are equal, the same rule as
-- reconcile_user_attribute_values applies attribute by attribute.
-- Both sides are users.parquet: one union, one normalisation (the unread columns are still pruned
-- through the union).
WITH sides AS (
    SELECT 'source' AS side, * FROM source_users
    UNION ALL BY NAME
    SELECT 'target' AS side, * FROM target_users
),
normalised AS (
    SELECT
        side,
        id,
        CASE WHEN list_contains($columns, 'id') THEN id END AS c_id,
        CASE WHEN list_contains($columns, 'external_id') THEN
            CASE WHEN list_contains($lower_columns, 'external_id') THEN lower(nullif(external_id, ''))
            ELSE nullif(external_id, '') END END AS c_external_id,
        CASE WHEN list_contains($columns, 'user_name') THEN
            CASE WHEN list_contains($lower_columns, 'user_name') THEN lower(nullif(user_name, ''))
            ELSE nullif(user_name, '') END END AS c_user_name,
        CASE WHEN list_contains($columns, 'display_name') THEN
            CASE WHEN list_contains($lower_columns, 'display_name') THEN lower(nullif(display_name, ''))
            ELSE nullif(display_name, '') END END AS c_display_name,
        CASE WHEN list_contains($columns, 'given_name') THEN
            CASE WHEN list_contains($lower_columns, 'given_name') THEN lower(nullif(given_name, ''))
            ELSE nullif(given_name, '') END END AS c_given_name,
        CASE WHEN list_contains($columns, 'family_name') THEN
            CASE WHEN list_contains($lower_columns, 'family_name') THEN lower(nullif(family_name, ''))
            ELSE nullif(family_name, '') END END AS c_family_name,
        CASE WHEN list_contains($columns, 'primary_email') THEN
            CASE WHEN list_contains($lower_columns, 'primary_email') THEN lower(nullif(primary_email, ''))
            ELSE nullif(primary_email, '') END END AS c_primary_email,
        CASE WHEN list_contains($columns, 'employee_number') THEN
            CASE WHEN list_contains($lower_columns, 'employee_number') THEN lower(nullif(employee_number, ''))
            ELSE nullif(employee_number, '') END END AS c_employee_number,
        CASE WHEN list_contains($columns, 'department') THEN
            CASE WHEN list_contains($lower_columns, 'department') THEN lower(nullif(department, ''))
            ELSE nullif(department, '') END END AS c_department,
        CASE WHEN list_contains($columns, 'title') THEN
            CASE WHEN list_contains($lower_columns, 'title') THEN lower(nullif(title, ''))
            ELSE nullif(title, '') END END AS c_title,
        CASE WHEN list_contains($columns, 'user_type') THEN
            CASE WHEN list_contains($lower_columns, 'user_type') THEN lower(nullif(user_type, ''))
            ELSE nullif(user_type, '') END END AS c_user_type,
        CASE WHEN list_contains($columns, 'version') THEN
            CASE WHEN list_contains($lower_columns, 'version') THEN lower(nullif(version, ''))
            ELSE nullif(version, '') END END AS c_version,
        CASE WHEN list_contains($columns, 'created') THEN created END AS c_created,
        CASE WHEN list_contains($columns, 'last_modified') THEN last_modified END AS c_last_modified
    FROM sides
)
SELECT
    side,
    fp64(id) AS id_key,
    fp64(
        c_id, c_external_id, c_user_name, c_display_name, c_given_name, c_family_name, c_primary_email,
        c_employee_number, c_department, c_title, c_user_type, c_version, c_created, c_last_modified
    ) AS fingerprint
FROM normalised
