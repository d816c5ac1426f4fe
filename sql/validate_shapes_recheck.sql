-- name: validate_shapes_recheck
-- purpose: the shapes of an export, the resources read again regrouped: each takes its structure from validate_recheck_resources ("" and {} read as null) and, when its names were respelled, its value facts from validate_shapes of its copy spelled as declared (value_shapes); schemas as the resource lists them; shapes none of whose resources was read again are kept as they are
-- inputs: shapes, again, value_shapes
-- params: none
WITH refacted AS (
    SELECT v.resource_type, unnest(v.ids) AS id, v.facts FROM value_shapes AS v
),
touched AS (
    SELECT DISTINCT shape_no FROM again
),
kept AS (
    SELECT resource_type, structure, schemas, facts, resources, ids
    FROM shapes
    WHERE shape_no NOT IN (SELECT shape_no FROM touched)
),
members AS (
    SELECT s.resource_type, s.structure, s.schemas, s.facts, unnest(s.ids) AS id
    FROM shapes AS s
    WHERE s.shape_no IN (SELECT shape_no FROM touched)
),
regrouped AS (
    SELECT
        m.resource_type,
        coalesce(a.structure, m.structure) AS structure,
        m.schemas,
        -- a required "" is absent in the structure read again: its nonempty fact would report it twice
        [f FOR f IN coalesce(r.facts, m.facts) IF a.id IS NULL OR f.check_name <> 'nonempty'] AS facts,
        count(*) AS resources,
        list(m.id) AS ids
    FROM members AS m
    LEFT JOIN again AS a ON a.resource_type = m.resource_type AND a.id = m.id
    LEFT JOIN refacted AS r ON r.resource_type = m.resource_type AND r.id = m.id
    GROUP BY ALL
),
merged AS (
    SELECT resource_type, structure, schemas, facts, resources, ids FROM kept
    UNION ALL
    SELECT resource_type, structure, schemas, facts, resources, ids FROM regrouped
)
SELECT
    row_number() OVER (ORDER BY resource_type, list_min(ids)) AS shape_no,
    resource_type,
    structure,
    schemas,
    facts,
    resources,
    ids
FROM merged
