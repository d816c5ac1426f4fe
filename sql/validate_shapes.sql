-- name: validate_shapes
-- purpose: the distinct shapes of an export's resources, with the count and ids of the resources of each: attribute names and JSON types (json_structure), the URNs listed in schemas, and the value facts that break a declared rule (empty required values, dateTimes that are not xsd:dateTime, non-canonical values, several primaries)
-- inputs: users, groups
-- params: $paths, $singles, $checks, $allowed, $case_exact
WITH resources AS (
    SELECT 1 AS rt, 'User' AS resource_type, id, raw FROM users
    UNION ALL
    SELECT 2 AS rt, 'Group' AS resource_type, id, raw FROM groups
),
-- $checks holds, per resource type (User, Group) and per path, one bit per check: 1 nonempty, 2 dateTime,
-- 4 canonical value, 8 one primary, 16 canonical element type, 32 other element checks (whose array text
-- validate_element_findings reads); here, the positions of the paths each check reads
slots AS (
    SELECT
        rt,
        [i FOR c, i IN bits IF c & 1 <> 0] AS nonempty,
        [i FOR c, i IN bits IF c & 2 <> 0] AS datetime,
        [i FOR c, i IN bits IF c & 4 <> 0] AS canonical,
        [i FOR c, i IN bits IF c & 8 <> 0] AS primary_one,
        [i FOR c, i IN bits IF c & 16 <> 0] AS element_type,
        [i FOR c, i IN bits IF c & 32 <> 0] AS generic
    FROM (SELECT unnest([1, 2]) AS rt, unnest($checks) AS bits)
),
-- two parses of raw: its shape, and the JSON text of schemas and of every checked attribute ($paths: schemas,
-- then the $singles single-valued paths, then the multi-valued ones)
extracted AS (
    SELECT
        r.rt,
        r.resource_type,
        r.id,
        json_structure(r.raw) AS structure,
        json_extract(r.raw, $paths)::VARCHAR[] AS vals
    FROM resources AS r
),
-- cheap tests that every value breaking a check passes, so a conforming resource skips the exact checks:
-- an empty required value; a dateTime the regex rejects or whose day is 29-31 (checked as a date below);
-- a canonical value at all; the text 'true' twice in an array; an element type not spelled as declared
suspects AS (
    SELECT
        e.*,
        list_contains(list_select(e.vals, s.nonempty), '""')
            OR len([v FOR v IN list_select(e.vals, s.datetime) IF left(v, 1) = '"' AND v <> '""' AND (
                NOT regexp_full_match(
                    v,
                    '"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"'
                )
                OR substr(v, 10, 2) IN ('29', '30', '31')
            )]) > 0
            OR len([v FOR v IN list_select(e.vals, s.canonical) IF left(v, 1) = '"' AND v <> '""']) > 0
            OR len([v FOR v IN list_select(e.vals, s.primary_one) IF v LIKE '%true%true%']) > 0
            OR len([v FOR v, k IN list_select(e.vals, s.element_type) IF v IS NOT NULL AND len(
                [t FOR t IN json_extract_string(v, '$[*].type')
                    IF t <> '' AND NOT list_contains($allowed[(e.rt - 1) * len($paths) + s.element_type[k]], t)]
            ) > 0]) > 0
            OR len([v FOR v IN list_select(e.vals, s.generic) IF v IS NOT NULL]) > 0 AS suspect
    FROM extracted AS e
    JOIN slots AS s ON s.rt = e.rt
),
-- the exact checks, on suspects only; an item is kept only when it breaks its check, so a conforming
-- resource carries no fact at all (facts in the order: nonempty, datetime, canonical, primary, type, raw)
checked AS (
    SELECT
        rt,
        resource_type,
        id,
        structure,
        vals[1] AS schemas_text,
        CASE WHEN NOT suspect THEN [] ELSE [{'i': i, 'v': v, 'c': $checks[rt][i]} FOR v, i IN vals
            IF v IS NOT NULL AND $checks[rt][i] <> 0] END AS items
    FROM suspects
),
facts AS (
    SELECT
        rt,
        resource_type,
        id,
        structure,
        schemas_text,
        CASE WHEN len(items) = 0 THEN [] ELSE list_concat(
            [{'check_name': 'nonempty', 'idx': s.i - 1, 'vals': []::VARCHAR[]}
                FOR s IN items IF s.c & 1 <> 0 AND s.v = '""'],
            [{'check_name': 'datetime', 'idx': s.i - 1, 'vals': [s.v ->> '$']}
                FOR s IN items IF s.c & 2 <> 0 AND left(s.v, 1) = '"' AND s.v <> '""'
                    AND NOT (
                        regexp_full_match(
                            s.v,
                            '"-?([1-9][0-9]{4,}|[0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"'
                        )
                        AND (NOT regexp_matches(s.v, '^"[0-9]{4,}-[0-9]{2}-(29|30|31)T')
                            OR TRY_CAST(regexp_extract(s.v, '^"([0-9]{4,}-[0-9]{2}-[0-9]{2})T', 1) AS DATE) IS NOT NULL)
                    )],
            [{'check_name': 'canonical', 'idx': s.i - 1, 'vals': [s.v ->> '$']}
                FOR s IN items IF s.c & 4 <> 0 AND left(s.v, 1) = '"' AND s.v <> '""'
                    AND NOT list_contains(
                        $allowed[(rt - 1) * len($paths) + s.i],
                        CASE WHEN $case_exact[(rt - 1) * len($paths) + s.i] THEN s.v ->> '$' ELSE lower(s.v ->> '$') END
                    )],
            [{'check_name': 'primary', 'idx': m.i - 1 - $singles, 'vals': [m.primaries::VARCHAR]}
                FOR m IN [{'i': s.i, 'primaries': CASE WHEN s.c & 8 <> 0
                        THEN len([x FOR x IN json_extract(s.v, '$[*].primary') IF x = 'true']) ELSE 0 END}
                    FOR s IN items]
                IF m.primaries > 1],
            [{'check_name': 'type', 'idx': m.i - 1 - $singles, 'vals': m.types}
                FOR m IN [{'i': s.i, 'types': CASE WHEN s.c & 16 <> 0
                        THEN list_sort(list_distinct(
                            [t FOR t IN json_extract_string(s.v, '$[*].type') IF t <> '' AND NOT list_contains(
                                $allowed[(rt - 1) * len($paths) + s.i],
                                CASE WHEN $case_exact[(rt - 1) * len($paths) + s.i] THEN t ELSE lower(t) END
                            )]))
                        ELSE [] END}
                    FOR s IN items]
                IF len(m.types) > 0],
            [{'check_name': 'raw', 'idx': s.i - 1 - $singles, 'vals': [s.v]} FOR s IN items IF s.c & 32 <> 0]
        ) END AS facts
    FROM checked
),
-- grouped on the text of schemas first (cheap), then on the URNs it lists
grouped AS (
    SELECT resource_type, structure, schemas_text, facts, count(*) AS resources, list(id) AS ids, min(id) AS first_id
    FROM facts
    GROUP BY resource_type, structure, schemas_text, facts
),
merged AS (
    SELECT
        resource_type,
        structure,
        json_extract_string(schemas_text, '$[*]') AS schemas,
        facts,
        sum(resources) AS resources,
        flatten(list(ids)) AS ids,
        min(first_id) AS first_id
    FROM grouped
    GROUP BY resource_type, structure, json_extract_string(schemas_text, '$[*]'), facts
)
SELECT
    row_number() OVER (ORDER BY resource_type, first_id) AS shape_no,
    resource_type,
    structure,
    schemas,
    facts,
    resources,
    ids
FROM merged
