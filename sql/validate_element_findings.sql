-- name: validate_element_findings
-- purpose: element checks of multi-valued attributes beyond primary and canonical type (declared by a server, not by RFC 7643): canonical values or dateTimes of other standard sub-attributes or of simple values, required sub-attributes, read from the array text the shape pass kept
-- inputs: shapes, value_specs
-- params: none
WITH facts AS (
    SELECT shape_no, resource_type, fact.idx AS idx, fact.vals[1] AS value
    FROM (SELECT shape_no, resource_type, unnest(facts) AS fact FROM shapes)
    WHERE fact.check_name = 'raw'
),
checked AS (
    SELECT
        f.shape_no,
        s.attribute,
        s.check_name,
        s.allowed,
        s.shown,
        s.case_exact,
        CASE s.sub
            WHEN 'value' THEN json_extract(f.value, '$[*].value')
            WHEN 'display' THEN json_extract(f.value, '$[*].display')
            WHEN 'type' THEN json_extract(f.value, '$[*].type')
            WHEN 'primary' THEN json_extract(f.value, '$[*].primary')
            WHEN '$ref' THEN json_extract(f.value, '$[*]."$ref"')
            ELSE json_extract(f.value, '$[*]')
        END AS subs,
        json_extract(f.value, '$[*]') AS items
    FROM facts AS f
    JOIN value_specs AS s
        ON s.resource_type = f.resource_type AND s.slot = 'multi' AND s.idx = f.idx
    WHERE NOT (s.check_name = 'primary' OR (s.check_name = 'canonical' AND s.sub = 'type'))
),
bad AS (
    SELECT
        *,
        [x ->> '$' FOR x IN coalesce(subs, []) IF left(x, 1) = '"'] AS texts,
        -- an array of only null and {} elements is unassigned as a whole (RFC 7643 §2.5), and a
        -- required sub-attribute is lacking only in an object element: a null element is no element,
        -- and one of another JSON type is a type_mismatch, not an element without the sub-attribute
        CASE
            WHEN len([e FOR e IN coalesce(items, []) IF e NOT IN ('null', '{}')]) = 0 THEN 0
            ELSE len([e FOR e IN coalesce(items, []) IF left(e, 1) = '{'])
                - len([x FOR x IN coalesce(subs, []) IF x NOT IN ('null', '""', '[]', '{}')])
        END AS lacking
    FROM checked
),
found AS (
    SELECT
        *,
        CASE check_name
            WHEN 'canonical' THEN list_sort(list_distinct(
                [t FOR t IN texts IF t <> '' AND NOT list_contains(allowed, CASE WHEN case_exact THEN t ELSE lower(t) END)]
            ))
            WHEN 'datetime' THEN list_sort(list_distinct(
                [t FOR t IN texts IF t <> '' AND NOT (
                    regexp_full_match(
                        t, '-?([1-9][0-9]{4,}|[0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?'
                    )
                    AND (NOT regexp_matches(t, '^[0-9]{4,}-[0-9]{2}-(29|30|31)T')
                        OR TRY_CAST(regexp_extract(t, '^([0-9]{4,}-[0-9]{2}-[0-9]{2})T', 1) AS DATE) IS NOT NULL)
                )]
            ))
        END AS bad_texts
    FROM bad
)
SELECT
    shape_no,
    'non_canonical_value' AS kind,
    'low' AS severity,
    attribute,
    attribute || ' has ' || array_to_string([concat('''', t, '''') FOR t IN bad_texts[1:5]], ', ')
        || CASE WHEN len(bad_texts) > 5 THEN ' and ' || (len(bad_texts) - 5) || ' more' ELSE '' END
        || ', not one of the canonical values ' || array_to_string(shown, ', ') AS detail
FROM found
WHERE check_name = 'canonical' AND len(bad_texts) > 0
UNION ALL
SELECT
    shape_no,
    'type_mismatch',
    'medium',
    attribute,
    attribute || ' is declared dateTime but holds '
        || array_to_string([concat('''', t, '''') FOR t IN bad_texts[1:5]], ', ')
        || ', not an xsd:dateTime (e.g. 2008-01-23T04:56:22Z)'
FROM found
WHERE check_name = 'datetime' AND len(bad_texts) > 0
UNION ALL
SELECT
    shape_no,
    'missing_required',
    'high',
    attribute,
    attribute || ' is required but ' || lacking || ' value(s) lack it'
FROM found
WHERE check_name = 'required_sub' AND lacking > 0
