-- name: reconcile_attribute_mismatches
-- purpose: attribute_mismatch findings: one row per matched user pair and compared attribute whose normalised values differ
-- inputs: attribute_pairs, attribute_values, compare_spec
-- params: none
-- attribute_pairs: matched (source_id, target_id) to compare (those whose fingerprints differ);
-- attribute_values: (side, id, user_name, vals, originals) from reconcile_user_attribute_values;
-- vals[i] is the normalised set of compare_spec position i.
WITH differing_pairs AS (
    SELECT
        c.source_id,
        c.target_id,
        s.user_name,
        s.vals AS source_vals,
        t.vals AS target_vals,
        s.originals AS source_originals,
        t.originals AS target_originals
    FROM attribute_pairs AS c
    JOIN attribute_values AS s ON s.side = 'source' AND s.id = c.source_id
    JOIN attribute_values AS t ON t.side = 'target' AND t.id = c.target_id
    WHERE s.vals <> t.vals
),
positions AS (
    SELECT
        source_id,
        target_id,
        user_name,
        source_vals,
        target_vals,
        source_originals,
        target_originals,
        unnest(range(1, array_length(source_vals) + 1)) AS position
    FROM differing_pairs
),
differing AS (
    SELECT
        p.source_id,
        p.target_id,
        p.user_name,
        s.attribute,
        s.multi_valued,
        list_filter(p.source_originals[p.position], lambda v: v IS NOT NULL AND v <> '') AS source_read,
        list_filter(p.target_originals[p.position], lambda v: v IS NOT NULL AND v <> '') AS target_read
    FROM positions AS p
    JOIN compare_spec AS s ON s.position = p.position
    WHERE p.source_vals[p.position] <> p.target_vals[p.position]
),
shown AS (
    SELECT
        source_id,
        target_id,
        user_name,
        attribute,
        CASE
            WHEN array_length(source_read) = 0 THEN NULL
            WHEN multi_valued THEN CAST(to_json(list_sort(list_distinct(list_filter(source_read, lambda v: v IS NOT NULL)))) AS VARCHAR)
            ELSE source_read[1]
        END AS source_value,
        CASE
            WHEN array_length(target_read) = 0 THEN NULL
            WHEN multi_valued THEN CAST(to_json(list_sort(list_distinct(list_filter(target_read, lambda v: v IS NOT NULL)))) AS VARCHAR)
            ELSE target_read[1]
        END AS target_value
    FROM differing
)
SELECT
    'attribute_mismatch' AS kind,
    'medium' AS severity,
    source_id,
    target_id,
    user_name,
    CAST(NULL AS VARCHAR) AS group_id,
    CAST(NULL AS VARCHAR) AS target_group_id,
    CAST(NULL AS VARCHAR) AS group_name,
    attribute,
    source_value,
    target_value,
    attribute || ' of user ' || coalesce(user_name, source_id) || ' differs: '
        || coalesce(source_value, 'unassigned') || ' in the source, '
        || coalesce(target_value, 'unassigned') || ' in the target' AS detail
FROM shown
