-- name: validate_census
-- purpose: how many resources of each type hold a value at each attribute path (from the shapes of one export)
-- inputs: shapes, observations
-- params: none
SELECT
    s.resource_type,
    o.path,
    sum(s.resources) AS resources
FROM observations AS o
JOIN shapes AS s ON s.shape_no = o.shape_no
WHERE o.observed NOT IN ('null', 'empty_object')
  AND NOT (o.observed = 'array' AND o.element = 'null')
GROUP BY s.resource_type, o.path
ORDER BY s.resource_type, o.path
