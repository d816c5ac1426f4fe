-- name: reconcile_user_attribute_values
-- purpose: per source and target user, every compared attribute as a normalised value set (for equality) and as the values read (for display)
-- inputs: source_users, target_users, compare_spec, manager_map, attribute_pairs, raw_values
-- params: $columns, $only_pairs
-- compare_spec: one row per compared attribute (position 1..n, extraction, column_name, json_path,
-- filter_attr, filter_path, filter_value, value_path, case_exact, multi_valued), built by
-- recon.attributes from the config: paths are data here, never SQL text.
-- $columns: flattened columns the spec reads; DuckDB folds these constants, so unread columns are
-- not scanned.
-- manager_map: (id, mapped) source user id -> matched target user id: a source manager
-- reference is compared as the target id of the matched manager.
-- raw_values: (side, id, raw_originals, raw_vals) from reconcile_user_raw_values: per compare_spec
-- position, the values read from raw JSON and their normalised values (NULL at the positions of
-- attributes that are not read from raw; no rows when no attribute is).
-- With $only_pairs, only the users of attribute_pairs (source_id, target_id) are read.
-- Normalisation (CONTRACT §4): null, "" and [] are unassigned (an empty set); values are
-- lower-cased unless case_exact; multi-valued attributes are sets (distinct, sorted); timestamp
-- columns are written in UTC (the session's time zone on every engine).
-- Portable to Spark: the spec list is sorted after aggregating (an aggregate's ORDER BY is lost
-- there), items are addressed by their position, not a lambda index (0-based on Spark).
WITH spec AS (
    SELECT list_sort(list(
        {
            'position': position,
            'extraction': extraction,
            'column_name': column_name,
            'json_path': json_path,
            'filter_attr': filter_attr,
            'filter_path': filter_path,
            'filter_value': filter_value,
            'value_path': value_path,
            'case_exact': case_exact
        }
    )) AS items
    FROM compare_spec
),
-- both sides are users.parquet: one union, one projection (unread columns are still pruned through it)
sides AS (
    SELECT 'source' AS side, id, user_name, external_id, display_name, given_name, family_name, emails, primary_email,
        employee_number, department, title, manager_id, user_type, created, last_modified, version
    FROM source_users
    WHERE NOT $only_pairs OR id IN (SELECT source_id FROM attribute_pairs)
    UNION ALL
    SELECT 'target' AS side, id, user_name, external_id, display_name, given_name, family_name, emails, primary_email,
        employee_number, department, title, manager_id, user_type, created, last_modified, version
    FROM target_users
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
        CASE WHEN list_contains($columns, 'version') THEN version END AS version
    FROM sides
),
with_manager AS (
    SELECT
        n.side, n.id, n.user_name, n.external_id, n.display_name, n.given_name, n.family_name, n.emails,
        n.primary_email, n.employee_number, n.department, n.title, n.manager_id, n.user_type, n.created,
        n.last_modified, n.version, r.raw_originals, r.raw_vals,
        CASE
            WHEN n.manager_id IS NULL OR n.manager_id = '' THEN NULL
            WHEN n.side = 'target' THEN n.manager_id
            -- an unmatched manager can equal no target id
            ELSE coalesce(m.mapped, '(unmatched source user) ' || n.manager_id)
        END AS manager_key
    FROM narrow AS n
    LEFT JOIN manager_map AS m ON n.side = 'source' AND m.id = n.manager_id
    LEFT JOIN raw_values AS r ON r.side = n.side AND r.id = n.id
),
picked AS (
    SELECT
        u.side,
        u.id,
        u.user_name,
        u.manager_key,
        u.raw_vals,
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
                    WHEN 'created' THEN strftime(u.created, '%Y-%m-%dT%H:%M:%S.%fZ')
                    WHEN 'last_modified' THEN strftime(u.last_modified, '%Y-%m-%dT%H:%M:%S.%fZ')
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
                ELSE u.raw_originals[a.position]
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
        lambda a: list_sort(list_distinct(list_filter(
            CASE
                WHEN a.extraction = 'manager' THEN [manager_key]
                WHEN a.extraction IN ('json_value', 'json_multi') THEN raw_vals[a.position]
                ELSE list_transform(
                    originals[a.position],
                    lambda v: CASE
                        WHEN v IS NULL OR v = '' THEN NULL
                        WHEN a.case_exact THEN v
                        ELSE lower(v)
                    END
                )
            END,
            lambda v: v IS NOT NULL
        )))
    ) AS vals,
    originals
FROM picked
