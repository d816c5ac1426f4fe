-- name: deltas_counts
-- purpose: per resource type, how many records changed, were created, deleted, returned, and returned of those that changed or were created
-- inputs: classified
-- params: none
SELECT
    resource_type,
    count(CASE WHEN changed THEN 1 END) AS changed,
    count(CASE WHEN in_head AND NOT in_base THEN 1 END) AS created,
    count(CASE WHEN in_base AND NOT in_head THEN 1 END) AS deleted,
    count(CASE WHEN returned THEN 1 END) AS returned,
    count(CASE WHEN returned AND in_head AND (changed OR NOT in_base) THEN 1 END) AS returned_of_moved
FROM classified
GROUP BY resource_type
ORDER BY resource_type
