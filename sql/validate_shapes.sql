-- name: validate_shapes
-- purpose: the distinct shapes of an export's resources, with the count and ids of the resources of each: attribute names and JSON types (json_structure), the URNs listed in schemas, and the value facts that break a declared rule (empty required values, dateTimes that are not xsd:dateTime, non-canonical values, several primaries)
-- inputs: users, groups
-- params: $single_paths, $multi_paths, $single_nonempty, $single_datetime, $single_canonical, $single_allowed, $single_case_exact, $multi_primary, $multi_canonical, $multi_generic, $multi_allowed, $multi_case_exact
WITH resources AS (
    SELECT 1 AS rt, 'User' AS resource_type, id, raw FROM users
    UNION ALL
    SELECT 2 AS rt, 'Group' AS resource_type, id, raw FROM groups
),
-- two parses of raw: its shape, and the JSON text of schemas and of every checked attribute
extracted AS (
    SELECT
        rt,
        resource_type,
        id,
        json_structure(raw) AS structure,
        json_extract(raw, list_concat(['$."schemas"'], $single_paths, $multi_paths))::VARCHAR[] AS vals
    FROM resources
),
parsed AS (
    SELECT
        resource_type,
        id,
        structure,
        json_extract_string(vals[1], '$[*]') AS schemas,
        vals[2:1 + len($single_paths)] AS singles,
        vals[2 + len($single_paths):] AS multis,
        (rt - 1) * len($single_paths) AS single_base,
        (rt - 1) * len($multi_paths) AS multi_base
    FROM extracted
),
-- the flags are laid out per resource type: User paths first, then Group paths; an item is kept only
-- when it breaks a check, so a conforming resource carries no fact at all
checked AS (
    SELECT
        resource_type,
        id,
        structure,
        schemas,
        [{'i': i, 'v': v} FOR v, i IN singles IF v IS NOT NULL AND (
            -- CASE evaluates its THEN only where the check applies (AND / OR evaluate both sides)
            CASE WHEN $single_nonempty[single_base + i] THEN v = '""' ELSE false END
            OR CASE WHEN $single_datetime[single_base + i] AND left(v, 1) = '"' AND v <> '""' THEN NOT (
                regexp_full_match(
                    v, '"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"'
                )
                AND CASE WHEN regexp_matches(v, '^"[0-9]{4}-[0-9]{2}-(29|30|31)T')
                    THEN TRY_CAST(substr(v, 2, 10) AS DATE) IS NOT NULL ELSE true END
            ) ELSE false END
            OR CASE WHEN $single_canonical[single_base + i] AND left(v, 1) = '"' THEN NOT list_contains(
                $single_allowed[single_base + i],
                CASE WHEN $single_case_exact[single_base + i] THEN v ->> '$' ELSE lower(v ->> '$') END
            ) ELSE false END
        )] AS bad_singles,
        [{'i': i, 'v': v} FOR v, i IN multis IF v IS NOT NULL AND (
            $multi_generic[multi_base + i]
            -- two primaries need the text 'true' twice: most arrays skip the JSON walk
            OR CASE WHEN $multi_primary[multi_base + i] AND strpos(v, 'true') > 0
                    AND strpos(substr(v, strpos(v, 'true') + 4), 'true') > 0
                THEN len([x FOR x IN json_extract(v, '$[*].primary') IF x = 'true']) > 1 ELSE false END
            -- values already spelled as declared skip the lower-casing
            OR CASE WHEN $multi_canonical[multi_base + i]
                    AND NOT list_has_all($multi_allowed[multi_base + i], json_extract_string(v, '$[*].type'))
                THEN $multi_case_exact[multi_base + i] OR NOT list_has_all(
                    $multi_allowed[multi_base + i], [lower(t) FOR t IN json_extract_string(v, '$[*].type')]
                ) ELSE false END
        )] AS bad_multis,
        single_base,
        multi_base
    FROM parsed
),
facts AS (
    SELECT
        resource_type,
        id,
        structure,
        schemas,
        list_concat(
            [{'check_name': 'nonempty', 'idx': s.i, 'vals': []::VARCHAR[]}
                FOR s IN bad_singles IF $single_nonempty[single_base + s.i] AND s.v = '""'],
            [{'check_name': 'datetime', 'idx': s.i, 'vals': [s.v ->> '$']}
                FOR s IN bad_singles IF $single_datetime[single_base + s.i] AND left(s.v, 1) = '"' AND s.v <> '""'
                    AND NOT (
                        regexp_full_match(
                            s.v,
                            '"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?"'
                        )
                        AND (NOT regexp_matches(s.v, '^"[0-9]{4}-[0-9]{2}-(29|30|31)T') OR TRY_CAST(substr(s.v, 2, 10) AS DATE) IS NOT NULL)
                    )],
            [{'check_name': 'canonical', 'idx': s.i, 'vals': [s.v ->> '$']}
                FOR s IN bad_singles IF $single_canonical[single_base + s.i] AND left(s.v, 1) = '"'
                    AND NOT list_contains(
                        $single_allowed[single_base + s.i],
                        CASE WHEN $single_case_exact[single_base + s.i] THEN s.v ->> '$' ELSE lower(s.v ->> '$') END
                    )],
            [{'check_name': 'primary', 'idx': m.i, 'vals': [m.primaries::VARCHAR]}
                FOR m IN [{'i': b.i, 'primaries': CASE WHEN $multi_primary[multi_base + b.i]
                        THEN len([x FOR x IN json_extract(b.v, '$[*].primary') IF x = 'true']) ELSE 0 END}
                    FOR b IN bad_multis]
                IF m.primaries > 1],
            [{'check_name': 'type', 'idx': m.i, 'vals': m.types}
                FOR m IN [{'i': b.i, 'types': CASE WHEN $multi_canonical[multi_base + b.i]
                        THEN list_sort(list_distinct(
                            [t FOR t IN json_extract_string(b.v, '$[*].type') IF NOT list_contains(
                                $multi_allowed[multi_base + b.i],
                                CASE WHEN $multi_case_exact[multi_base + b.i] THEN t ELSE lower(t) END
                            )]))
                        ELSE [] END}
                    FOR b IN bad_multis]
                IF len(m.types) > 0],
            [{'check_name': 'raw', 'idx': b.i, 'vals': [b.v]} FOR b IN bad_multis IF $multi_generic[multi_base + b.i]]
        ) AS facts
    FROM checked
),
grouped AS (
    SELECT resource_type, structure, schemas, facts, count(*) AS resources, list(id) AS ids, min(id) AS first_id
    FROM facts
    GROUP BY resource_type, structure, schemas, facts
)
SELECT
    row_number() OVER (ORDER BY resource_type, first_id) AS shape_no,
    resource_type,
    structure,
    schemas,
    facts,
    resources,
    ids
FROM grouped
