-- name: deltas_candidates
-- purpose: the compared users and groups whose raw JSON or members differ between base and head, with both raw texts, for recon.content to compare
-- inputs: compared
-- params: none
SELECT resource_type, id, members_changed, base_raw, head_raw
FROM compared
WHERE candidate
