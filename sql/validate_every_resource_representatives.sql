-- name: validate_every_resource_representatives
-- purpose: without the compiled walker, the representatives of every resource: (resource_type, id = key, weight 1), users then groups
-- inputs: user_rows, group_rows
-- params: none
-- user_rows / group_rows: the export's users and groups files read with file_row_number
SELECT 'User' AS resource_type, 'U' || file_row_number AS id, 1 AS weight FROM user_rows
UNION ALL
SELECT 'Group' AS resource_type, 'G' || file_row_number AS id, 1 AS weight FROM group_rows
