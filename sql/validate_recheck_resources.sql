-- name: validate_recheck_resources
-- purpose: the resources read again, with the shape each belongs to (see validate_recheck_shapes): every resource of the $recase shapes (recase: its raw text, to be respelled as declared), and those of the $nulls shapes whose text holds "" as a value or {} as an array element; with the structure of each, "" and {} read as null (unassigned: json_structure would see a string, or "mixed" types)
-- inputs: shapes, users, groups
-- params: $recase, $nulls
WITH wanted AS (
    SELECT shape_no, resource_type, unnest(ids) AS id, list_contains($recase, shape_no) AS recase
    FROM shapes
    WHERE list_contains($recase, shape_no) OR list_contains($nulls, shape_no)
),
texts AS (
    SELECT w.shape_no, w.resource_type, w.id, w.recase, u.raw
    FROM wanted AS w
    JOIN users AS u ON u.id = w.id
    WHERE w.resource_type = 'User'
    UNION ALL
    SELECT w.shape_no, w.resource_type, w.id, w.recase, g.raw
    FROM wanted AS w
    JOIN groups AS g ON g.id = w.id
    WHERE w.resource_type = 'Group'
),
matched AS (
    SELECT *, regexp_matches(raw, ':\s*""|[\[,]\s*\{\s*\}|[^\\]"\s*:\s*(\{\s*\}|\[\s*\])') AS holds_empty
    FROM texts
)
SELECT
    shape_no,
    resource_type,
    id,
    recase,
    CASE WHEN recase THEN raw END AS raw,
    -- the pattern cannot match across a string's quotes; only a key holding "[{}" or ",{}" is respelled.
    -- {} or [] as a member's value (after a key's closing quote and its colon) reads as null too:
    -- inside an array's elements json_structure would merge it with the other elements' values as
    -- "mixed"; elsewhere null, {} and [] are all observed as holding no value
    json_structure(
        CASE WHEN holds_empty THEN regexp_replace(
            regexp_replace(raw, '(:\s*)""|([\[,]\s*)\{\s*\}', '\1\2null', 'g'),
            '([^\\]"\s*:\s*)(\{\s*\}|\[\s*\])', '\1null', 'g'
        ) ELSE raw END
    ) AS structure
FROM matched
WHERE recase OR holds_empty
