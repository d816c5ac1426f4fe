-- name: validate_every_resource_members
-- purpose: without the compiled walker, whom each representative stands for: itself (resource_type, rep = row number, id = SCIM id)
-- inputs: user_rows, group_rows
-- params: none
-- user_rows / group_rows: the export's users and groups files read with file_row_number
SELECT 'User' AS resource_type, CAST(file_row_number AS INTEGER) AS rep, id FROM user_rows
UNION ALL
SELECT 'Group' AS resource_type, CAST(file_row_number AS INTEGER) AS rep, id FROM group_rows
