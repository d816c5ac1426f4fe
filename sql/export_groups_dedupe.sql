-- name: export_groups_dedupe
-- purpose: the groups of one export, one row per id (the first copy received wins), ordered by id
-- inputs: received_groups
-- params: none
SELECT id, external_id, display_name, created, last_modified, version, raw, content_sha256
FROM received_groups
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _seq) = 1
ORDER BY id
