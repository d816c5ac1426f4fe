-- name: reconcile_accounts
-- purpose: one system's users with only the columns this reconcile reads (the others NULL), to keep in memory: the id and the other narrow columns are then read from the export once, not by every step
-- inputs: users
-- params: $columns
-- $columns: the columns kept besides id. DuckDB folds list_contains() on the constant, so a
-- column not kept is not scanned; it is kept as a column of NULLs, which DuckDB does store (at 1M
-- users 0.07 CPU s and ~55 MiB per table: benchmarks/results/reconcile.md, rec24), so that every
-- later statement can name all the users' columns.
SELECT
    id,
    CASE WHEN list_contains($columns, 'external_id') THEN external_id END AS external_id,
    CASE WHEN list_contains($columns, 'user_name') THEN user_name END AS user_name,
    CASE WHEN list_contains($columns, 'active') THEN active END AS active,
    CASE WHEN list_contains($columns, 'display_name') THEN display_name END AS display_name,
    CASE WHEN list_contains($columns, 'given_name') THEN given_name END AS given_name,
    CASE WHEN list_contains($columns, 'family_name') THEN family_name END AS family_name,
    CASE WHEN list_contains($columns, 'emails') THEN emails END AS emails,
    CASE WHEN list_contains($columns, 'primary_email') THEN primary_email END AS primary_email,
    CASE WHEN list_contains($columns, 'employee_number') THEN employee_number END AS employee_number,
    CASE WHEN list_contains($columns, 'department') THEN department END AS department,
    CASE WHEN list_contains($columns, 'title') THEN title END AS title,
    CASE WHEN list_contains($columns, 'manager_id') THEN manager_id END AS manager_id,
    CASE WHEN list_contains($columns, 'user_type') THEN user_type END AS user_type,
    CASE WHEN list_contains($columns, 'created') THEN created END AS created,
    CASE WHEN list_contains($columns, 'last_modified') THEN last_modified END AS last_modified,
    CASE WHEN list_contains($columns, 'version') THEN version END AS version,
    CASE WHEN list_contains($columns, 'raw') THEN raw END AS raw
FROM users
