-- name: validate_recheck_shapes
-- purpose: the shapes whose resources are read again (rare): those holding an attribute name spelled in another case than declared (their values are read at exact JSON paths: recase), and those with a structural finding at a string or mixed-type value, which "" or an array of {} may cause (both unassigned, but json_structure sees a string, or "mixed" types: nulls)
-- inputs: shape_findings, observations
-- params: none
SELECT
    f.shape_no,
    bool_or(f.kind = 'attribute_name_case') AS recase,
    bool_or(
        f.kind IN ('undeclared_attribute', 'leaked_attribute', 'type_mismatch', 'undeclared_schema', 'schema_urn_missing')
        AND (o.observed IN ('string', 'mixed') OR o.element = 'mixed')
    ) AS nulls
FROM shape_findings AS f
LEFT JOIN observations AS o ON o.shape_no = f.shape_no AND o.path = f.attribute
GROUP BY f.shape_no
HAVING recase OR nulls
ORDER BY f.shape_no
