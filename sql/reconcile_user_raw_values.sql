-- name: reconcile_user_raw_values
-- purpose: per source and target user, the compared attributes read from the raw JSON resource (extension and unflattened attributes): the values read and their normalised values, by compare_spec position
-- inputs: source_users, target_users, compare_spec, attribute_pairs
-- params: $only_pairs
-- compare_spec: as for reconcile_user_attribute_values; positions of attributes not read from raw
-- get NULL. Run only when some compared attribute is read from raw; DuckDB only (JSON arrays and
-- types have no portable SQL), so such a compare list needs the DuckDB engine.
-- Normalisation (CONTRACT §4): null and "" are unassigned; a dateTime is rewritten in UTC; other
-- values are lower-cased unless case_exact.
WITH spec AS (
    SELECT list_sort(list(
        {
            'position': position,
            'extraction': extraction,
            'json_path': json_path,
            'filter_path': filter_path,
            'filter_value': filter_value,
            'value_path': value_path,
            'case_exact': case_exact
        }
    )) AS items
    FROM compare_spec
),
sides AS (
    SELECT 'source' AS side, id, raw FROM source_users
    WHERE NOT $only_pairs OR id IN (SELECT source_id FROM attribute_pairs)
    UNION ALL
    SELECT 'target' AS side, id, raw FROM target_users
    WHERE NOT $only_pairs OR id IN (SELECT target_id FROM attribute_pairs)
),
picked AS (
    SELECT
        u.side,
        u.id,
        spec.items,
        list_transform(
            spec.items,
            lambda a: CASE a.extraction
                WHEN 'json_value' THEN [json_extract_string(u.raw, a.json_path)]
                WHEN 'json_multi' THEN CASE
                    WHEN json_type(json_extract(u.raw, a.json_path)) = 'ARRAY' THEN list_transform(
                        list_filter(
                            CAST(json_extract(u.raw, a.json_path) AS JSON[]),
                            lambda e: a.filter_path IS NULL
                                OR lower(json_extract_string(e, a.filter_path)) = lower(a.filter_value)
                        ),
                        lambda e: json_extract_string(e, a.value_path)
                    )
                    ELSE []
                END
            END
        ) AS raw_originals
    FROM sides AS u
    CROSS JOIN spec
)
SELECT
    side,
    id,
    raw_originals,
    list_transform(
        items,
        lambda a: CASE WHEN a.extraction IN ('json_value', 'json_multi') THEN list_transform(
            raw_originals[a.position],
            lambda v: CASE
                WHEN v IS NULL OR v = '' THEN NULL
                WHEN regexp_full_match(v, '\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?')
                    THEN coalesce(
                        strftime(timezone('UTC', try_cast(upper(v) AS TIMESTAMPTZ)), '%Y-%m-%dT%H:%M:%S.%fZ'), v
                    )
                WHEN a.case_exact THEN v
                ELSE lower(v)
            END
        ) END
    ) AS raw_vals
FROM picked
