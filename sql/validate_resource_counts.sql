-- name: validate_resource_counts
-- purpose: resources per type, from the representatives' weights (regrouping never moves a resource in or out)
-- inputs: representatives
-- params: none
SELECT resource_type, sum(weight) AS resources
FROM representatives
GROUP BY resource_type
