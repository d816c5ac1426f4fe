-- name: reconcile_manager_map
-- purpose: source user id -> matched target user id, to compare manager references across systems that assign their own ids
-- inputs: user_correlation
-- params: none
SELECT source_id AS id, target_id AS mapped
FROM user_correlation
WHERE NOT ambiguous
