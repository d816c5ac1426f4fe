-- name: reconcile_user_attribute_values
-- purpose: per source and target user, every compared attribute as a normalised value set (for equality) and as the values read (for display)
-- inputs: source_users, target_users, compare_spec, manager_map, attribute_pairs
-- params: $columns, $reads_raw, $only_pairs
-- compare_spec: one row per compared attribute (position, extraction, column_name, json_path,
-- filter_attr, filter_path, filter_value, value_path, case_exact, multi_valued), built by
-- recon.attributes from the config: paths are data here, never SQL text.
-- $columns: flattened columns the spec reads and $reads_raw whether it reads raw; DuckDB folds
-- these constants, so unread columns are not scanned.
-- manager_map: (id, mapped) source user id -> matched target user id: a source manager
-- reference is compared as the target id of the matched manager.
-- With $only_pairs, only the users of attribute_pairs (source_id, target_id) are read.
-- Normalisation (CONTRACT §4): null, "" and [] are unassigned (an empty set); values are
-- lower-cased unless case_exact; multi-valued attributes are sets (distinct, sorted); a
-- dateTime read from raw is rewritten in UTC; timestamp columns are written in UTC.
WITH spec AS (
    SELECT list(
        {
            'extraction': extraction,
            'column_name': column_name,
            'json_path': json_path,
            'filter_attr': filter_attr,
            'filter_path': filter_path,
            'filter_value': filter_value,
            'value_path': value_path,
            'case_exact': case_exact
        }
        ORDER BY position
    ) AS items
    FROM compare_spec
),
-- both sides are users.parquet: one union, one projection (unread columns are still pruned through it)
sides AS (
    SELECT 'source' AS side, * FROM source_users
    WHERE NOT $only_pairs OR id IN (SELECT source_id FROM attribute_pairs)
    UNION ALL BY NAME
    SELECT 'target' AS side, * FROM target_users
    WHERE NOT $only_pairs OR id IN (SELECT target_id FROM attribute_pairs)
),
narrow AS (
    SELECT
        side,
        id,
        user_name,
        CASE WHEN list_contains($columns, 'external_id') THEN external_id END AS external_id,
        CASE WHEN list_contains($columns, 'display_name') THEN display_name END AS display_name,
        CASE WHEN list_contains($columns, 'given_name') THEN given_name END AS given_name,
        CASE WHEN list_contains($columns, 'family_name') THEN family_name END AS family_name,
        CASE WHEN list_contains($columns, 'emails') THEN emails END AS emails,
        CASE WHEN list_contains($columns, 'primary_email') THEN primary_email END AS primary_email,
        CASE WHEN list_contains($columns, 'employee_number') THEN employee_number END AS employee_number,
        CASE WHEN list_contains($columns, 'department') THEN department END AS department,
        CASE WHEN list_contains($columns, 'title') THEN title END AS title,
        CASE WHEN list_contains($columns, 'manager_id') THEN manager_id END AS manager_id,
        CASE WHEN list_contains($columns, 'user_type') THEN user_type END AS user_type,
        CASE WHEN list_contains($columns, 'created') THEN created END AS created,
        CASE WHEN list_contains($columns, 'last_modified') THEN last_modified END AS last_modified,
        CASE WHEN list_contains($columns, 'version') THEN version END AS version,
        CASE WHEN $reads_raw THEN raw END AS raw
    FROM sides
),
with_manager AS (
    SELECT
        n.side, n.id, n.user_name, n.external_id, n.display_name, n.given_name, n.family_name, n.emails,
        n.primary_email, n.employee_number, n.department, n.title, n.manager_id, n.user_type, n.created,
        n.last_modified, n.version, n.raw,
        CASE
            WHEN n.manager_id IS NULL OR n.manager_id = '' THEN NULL
            WHEN n.side = 'target' THEN n.manager_id
            -- an unmatched manager can equal no target id
            ELSE coalesce(m.mapped, '(unmatched source user) ' || n.manager_id)
        END AS manager_key
    FROM narrow AS n
    LEFT JOIN manager_map AS m ON n.side = 'source' AND m.id = n.manager_id
),
picked AS (
    SELECT
        u.side,
        u.id,
        u.user_name,
        u.manager_key,
        spec.items,
        list_transform(
            spec.items,
            lambda a: CASE a.extraction
                WHEN 'column' THEN [CASE a.column_name
                    WHEN 'id' THEN u.id
                    WHEN 'external_id' THEN u.external_id
                    WHEN 'user_name' THEN u.user_name
                    WHEN 'display_name' THEN u.display_name
                    WHEN 'given_name' THEN u.given_name
                    WHEN 'family_name' THEN u.family_name
                    WHEN 'primary_email' THEN u.primary_email
                    WHEN 'employee_number' THEN u.employee_number
                    WHEN 'department' THEN u.department
                    WHEN 'title' THEN u.title
                    WHEN 'user_type' THEN u.user_type
                    WHEN 'version' THEN u.version
                    WHEN 'created' THEN strftime(timezone('UTC', u.created), '%Y-%m-%dT%H:%M:%S.%fZ')
                    WHEN 'last_modified' THEN strftime(timezone('UTC', u.last_modified), '%Y-%m-%dT%H:%M:%S.%fZ')
                END]
                WHEN 'emails' THEN list_transform(
                    list_filter(
                        coalesce(u.emails, []),
                        lambda e: a.filter_attr IS NULL
                            OR (a.filter_attr = 'type' AND lower(e.type) = lower(a.filter_value))
                            OR (a.filter_attr = 'value' AND lower(e.value) = lower(a.filter_value))
                            OR (a.filter_attr = 'primary'
                                AND coalesce(struct_extract(e, 'primary'), false) = (a.filter_value = 'true'))
                    ),
                    lambda e: e.value
                )
                WHEN 'manager' THEN [u.manager_id]
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
        ) AS originals
    FROM with_manager AS u
    CROSS JOIN spec
)
SELECT
    side,
    id,
    user_name,
    list_transform(
        items,
        lambda a, i: list_sort(list_distinct(list_transform(
            CASE WHEN a.extraction = 'manager' THEN [manager_key] ELSE originals[i] END,
            lambda v: CASE
                WHEN v IS NULL OR v = '' THEN NULL
                WHEN a.extraction = 'manager' THEN v
                WHEN a.extraction IN ('json_value', 'json_multi')
                    AND regexp_full_match(v, '\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?')
                    THEN coalesce(
                        strftime(timezone('UTC', try_cast(upper(v) AS TIMESTAMPTZ)), '%Y-%m-%dT%H:%M:%S.%fZ'), v
                    )
                WHEN a.case_exact THEN v
                ELSE lower(v)
            END
        )))
    ) AS vals,
    originals
FROM picked
