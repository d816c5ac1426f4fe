-- name: export_duplicate_ids
-- purpose: resource ids received more than once in one export, with how many extra copies
-- inputs: received_users, received_groups
-- params: none
SELECT resource_type, id, copies - 1 AS extra_copies
FROM (
    SELECT 'User' AS resource_type, id, count(*) AS copies FROM received_users GROUP BY id
    UNION ALL
    SELECT 'Group' AS resource_type, id, count(*) AS copies FROM received_groups GROUP BY id
) AS counted
WHERE copies > 1
ORDER BY resource_type, id
