-- name: validate_shape_weights
-- purpose: the shapes with their resources counted: a shape lists representatives (see recon/validate/signatures.py), each standing for weight resources
-- inputs: shapes, representatives
-- params: none
WITH counted AS (
    SELECT u.shape_no, sum(r.weight) AS resources
    FROM (SELECT shape_no, resource_type, unnest(ids) AS id FROM shapes) AS u
    JOIN representatives AS r ON r.resource_type = u.resource_type AND r.id = u.id
    GROUP BY u.shape_no
)
SELECT s.shape_no, s.resource_type, s.structure, s.schemas, s.facts, c.resources, s.ids
FROM shapes AS s
JOIN counted AS c ON c.shape_no = s.shape_no
