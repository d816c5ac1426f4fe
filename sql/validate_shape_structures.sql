-- name: validate_shape_structures
-- purpose: each shape's number and JSON structure, in the shapes' order
-- inputs: shapes
-- params: none
SELECT shape_no, structure
FROM shapes
