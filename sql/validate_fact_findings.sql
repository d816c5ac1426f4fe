-- name: validate_fact_findings
-- purpose: the value findings of each shape from the facts the shape pass recorded (empty required values, bad dateTimes, non-canonical values, several primaries, and the rarer element checks of validate_element_findings)
-- inputs: shapes, value_specs
-- params: none
WITH facts AS (
    SELECT shape_no, resource_type, fact.check_name AS fact, fact.idx AS idx, fact.vals AS vals
    FROM (SELECT shape_no, resource_type, unnest(facts) AS fact FROM shapes)
),
matched AS (
    SELECT f.shape_no, f.fact, f.vals, s.attribute, s.check_name, s.shown
    FROM facts AS f
    JOIN value_specs AS s
        ON s.resource_type = f.resource_type
        AND s.idx = f.idx
        AND s.slot = CASE WHEN f.fact IN ('nonempty', 'datetime', 'canonical') THEN 'single' ELSE 'multi' END
        AND (
            (f.fact = 'nonempty' AND s.check_name = 'nonempty')
            OR (f.fact = 'datetime' AND s.check_name = 'datetime')
            OR (f.fact = 'canonical' AND s.check_name = 'canonical')
            OR (f.fact = 'primary' AND s.check_name = 'primary')
            OR (f.fact = 'type' AND s.check_name = 'canonical' AND s.sub = 'type')
        )
)
SELECT
    shape_no,
    CASE check_name
        WHEN 'nonempty' THEN 'missing_required'
        WHEN 'datetime' THEN 'type_mismatch'
        WHEN 'canonical' THEN 'non_canonical_value'
        ELSE 'multiple_primary'
    END AS kind,
    CASE check_name
        WHEN 'nonempty' THEN 'high'
        WHEN 'canonical' THEN 'low'
        ELSE 'medium'
    END AS severity,
    attribute,
    CASE check_name
        WHEN 'nonempty' THEN attribute || ' is required but empty'
        WHEN 'datetime' THEN attribute || ' is declared dateTime but holds ''' || vals[1]
            || ''', not an xsd:dateTime (e.g. 2008-01-23T04:56:22Z)'
        WHEN 'canonical' THEN attribute || ' has '
            || array_to_string([concat('''', v, '''') FOR v IN vals[1:5]], ', ')
            || CASE WHEN len(vals) > 5 THEN ' and ' || (len(vals) - 5) || ' more' ELSE '' END
            || ', not one of the canonical values ' || array_to_string(shown, ', ')
        ELSE attribute || ' has ' || vals[1] || ' values with primary: true; at most one is allowed'
    END AS detail
FROM matched
