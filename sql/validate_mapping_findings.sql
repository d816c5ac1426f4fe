-- name: validate_mapping_findings
-- purpose: the configured reconcile mapping against both systems' declared schemas and data: attributes one side does not declare, differing types or caseExact, attributes the source populates and the target never does (with the target attributes it might have been renamed to)
-- inputs: mapped, source_declared, target_declared, source_census, target_census
-- params: none
WITH src AS (
    SELECT key, path, type, multi_valued, case_exact FROM source_declared WHERE resource_type = 'User'
),
tgt AS (
    SELECT key, path, type, multi_valued, case_exact FROM target_declared WHERE resource_type = 'User'
),
source_pop AS (
    SELECT lower(path) AS key, sum(resources) AS resources
    FROM source_census WHERE resource_type = 'User' GROUP BY lower(path)
),
target_pop AS (
    SELECT lower(path) AS key, min(path) AS path, sum(resources) AS resources,
        lower(regexp_extract(min(path), '[^:.]+$')) AS leaf
    FROM target_census WHERE resource_type = 'User' GROUP BY lower(path)
),
joined AS (
    SELECT
        m.position,
        m.attribute,
        m.role,
        m.source_path,
        m.target_path,
        s.path AS source_declared,
        s.type AS source_type,
        s.multi_valued AS source_multi,
        s.case_exact AS source_case_exact,
        t.path AS target_declared,
        t.type AS target_type,
        t.multi_valued AS target_multi,
        t.case_exact AS target_case_exact,
        coalesce(sp.resources, 0) AS source_populated,
        coalesce(tp.resources, 0) AS target_populated,
        lower(regexp_extract(m.target_path, '[^:.]+$')) AS target_leaf
    FROM mapped AS m
    LEFT JOIN src AS s ON s.key = lower(m.source_path)
    LEFT JOIN tgt AS t ON t.key = lower(m.target_path)
    LEFT JOIN source_pop AS sp ON sp.key = lower(m.source_path)
    LEFT JOIN target_pop AS tp ON tp.key = lower(m.target_path)
),
renames AS (  -- target attributes with the same name, populated in the target but never in the source
    SELECT j.position, string_agg(tp.path || ' (' || tp.resources || ' users)', ', ' ORDER BY tp.path) AS candidates
    FROM joined AS j
    JOIN target_pop AS tp ON tp.leaf = j.target_leaf AND tp.key <> lower(j.target_path)
    LEFT JOIN source_pop AS sp ON sp.key = tp.key
    WHERE sp.key IS NULL
    GROUP BY j.position
),
findings AS (
    SELECT
        position,
        'mapping_attribute_undeclared' AS kind,
        'high' AS severity,
        attribute,
        source_path,
        target_path,
        'the target does not declare ' || target_path || ' (' || role || ' ' || attribute
            || '): values sent to it are dropped or rejected' AS detail
    FROM joined
    WHERE target_declared IS NULL
    UNION ALL
    SELECT
        position,
        'mapping_attribute_undeclared',
        'medium',
        attribute,
        source_path,
        target_path,
        'the source does not declare ' || source_path || ' (' || role || ' ' || attribute || ')'
    FROM joined
    WHERE source_declared IS NULL
    UNION ALL
    SELECT
        position,
        'mapping_type_mismatch',
        'medium',
        attribute,
        source_path,
        target_path,
        source_path || ' is ' || source_type || CASE WHEN source_multi THEN ' multi-valued' ELSE '' END
            || ' in the source but ' || target_path || ' is ' || target_type
            || CASE WHEN target_multi THEN ' multi-valued' ELSE '' END || ' in the target'
    FROM joined
    WHERE source_declared IS NOT NULL AND target_declared IS NOT NULL
      AND (source_type <> target_type OR source_multi <> target_multi)
    UNION ALL
    SELECT
        position,
        'mapping_case_exact_mismatch',
        CASE WHEN target_case_exact THEN 'medium' ELSE 'low' END,
        attribute,
        source_path,
        target_path,
        CASE
            WHEN target_case_exact THEN source_path || ' is case-insensitive in the source but ' || target_path
                || ' is caseExact in the target: a change of case in the source becomes a different value'
                || ' (a mismatch, a failed match or a duplicate account)'
            ELSE source_path || ' is caseExact in the source but ' || target_path
                || ' is case-insensitive in the target: source values that differ only by case collide there'
        END
    FROM joined
    WHERE source_declared IS NOT NULL AND target_declared IS NOT NULL AND source_case_exact <> target_case_exact
    UNION ALL
    SELECT
        j.position,
        'mapping_unpopulated_in_target',
        'high',
        j.attribute,
        j.source_path,
        j.target_path,
        j.source_path || ' is populated for ' || j.source_populated || ' source users but ' || j.target_path
            || ' for no target user'
            || CASE WHEN r.candidates IS NOT NULL
                THEN '; the target populates ' || r.candidates || ' instead (renamed or unmapped?)'
                ELSE ' (renamed or unmapped?)'
            END
    FROM joined AS j
    LEFT JOIN renames AS r ON r.position = j.position
    WHERE j.source_populated > 0 AND j.target_populated = 0
)
SELECT
    kind,
    severity,
    attribute,
    source_path AS source_attribute,
    target_path AS target_attribute,
    NULL::VARCHAR AS source_id,
    NULL::VARCHAR AS target_id,
    NULL::VARCHAR AS source_value,
    NULL::VARCHAR AS target_value,
    detail
FROM findings
ORDER BY position, kind, severity
