-- name: export_users_dedupe
-- purpose: the users of one export, one row per id (the first copy received wins), ordered by id
-- inputs: received_users
-- params: none
SELECT
    id, external_id, user_name, active, display_name, given_name, family_name, emails,
    primary_email, employee_number, department, title, manager_id, user_type,
    created, last_modified, version, raw, content_sha256
FROM received_users
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _seq) = 1
ORDER BY id
