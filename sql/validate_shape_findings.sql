-- name: validate_shape_findings
-- purpose: structural findings of each distinct resource shape against the declared schemas: undeclared attributes and schemas, JSON types, leaked attributes, required attributes, schemas URNs versus extension blocks
-- inputs: shapes, observations, declared_attributes, declared_schemas
-- params: none
WITH obs AS (
    SELECT
        o.shape_no,
        s.resource_type,
        o.path,
        lower(o.path) AS key,
        lower(o.parent) AS parent_key,
        o.observed,
        o.element,
        o.in_array,
        o.block,
        o.observed NOT IN ('null', 'empty_object')
            AND NOT (o.observed = 'array' AND o.element = 'null') AS has_value
    FROM observations AS o
    JOIN shapes AS s ON s.shape_no = o.shape_no
),
-- attribute observations whose context is declared: the root, a declared schema block, a declared complex attribute
attrs AS (
    SELECT
        o.*,
        d.path AS declared_path,
        d.type AS declared_type,
        d.multi_valued,
        d.mutability,
        d.returned,
        b.schema AS block_schema,
        p.path AS parent_path,
        CASE
            WHEN o.observed = 'array' THEN 'an array of ' || o.element || ' values'
            WHEN o.observed = 'mixed' THEN 'values of mixed JSON types'
            WHEN o.observed = 'empty_object' THEN 'an empty object'
            ELSE 'a JSON ' || o.observed
        END AS holds
    FROM obs AS o
    LEFT JOIN declared_attributes AS d ON d.resource_type = o.resource_type AND d.key = o.key
    LEFT JOIN declared_attributes AS p ON p.resource_type = o.resource_type AND p.key = o.parent_key
    LEFT JOIN declared_schemas AS b ON b.resource_type = o.resource_type AND b.key = o.parent_key
    WHERE NOT o.block
      AND (o.parent_key IS NULL OR b.key IS NOT NULL OR p.type = 'complex')
),
typed AS (
    SELECT
        a.*,
        CASE
            WHEN a.multi_valued THEN a.observed = 'array' AND (
                a.element = 'null'
                OR (a.declared_type = 'complex' AND a.element = 'object')
                OR (a.declared_type = 'boolean' AND a.element = 'boolean')
                OR (a.declared_type = 'integer' AND a.element = 'integer')
                OR (a.declared_type = 'decimal' AND a.element IN ('integer', 'decimal'))
                OR (a.declared_type IN ('string', 'dateTime', 'reference', 'binary') AND a.element = 'string')
            )
            ELSE (a.declared_type = 'complex' AND a.observed IN ('object', 'empty_object'))
                OR (a.declared_type = 'boolean' AND a.observed = 'boolean')
                OR (a.declared_type = 'integer' AND a.observed = 'integer')
                OR (a.declared_type = 'decimal' AND a.observed IN ('integer', 'decimal'))
                OR (a.declared_type IN ('string', 'dateTime', 'reference', 'binary') AND a.observed = 'string')
        END AS type_ok
    FROM attrs AS a
    WHERE a.declared_path IS NOT NULL
),
attribute_findings AS (
    SELECT
        shape_no,
        'undeclared_attribute' AS kind,
        CASE WHEN block_schema IS NOT NULL AND key LIKE 'urn:%' THEN 'medium' ELSE 'low' END AS severity,
        path AS attribute,
        path || ' is used but not declared'
            || CASE
                WHEN block_schema IS NOT NULL THEN ' by schema ' || block_schema
                WHEN parent_path IS NOT NULL THEN ' as a sub-attribute of ' || parent_path
                ELSE ' by the ' || resource_type || ' schemas'
            END
            || ' (strict receivers drop it)' AS detail
    FROM attrs
    WHERE declared_path IS NULL AND has_value
    UNION ALL
    SELECT
        shape_no,
        'attribute_name_case',
        'low',
        path,
        path || ' is spelled differently from the declared ' || declared_path
            || ' (names are case-insensitive in RFC 7643, but case-sensitive clients drop it)'
    FROM typed
    WHERE declared_path <> path
    UNION ALL
    SELECT
        shape_no,
        'type_mismatch',
        'medium',
        path,
        path || ' is declared ' || declared_type || CASE WHEN multi_valued THEN ' multi-valued' ELSE '' END
            || ' but holds ' || holds
    FROM typed
    WHERE has_value AND NOT type_ok
    UNION ALL
    SELECT
        shape_no,
        'leaked_attribute',
        'critical',
        path,
        path || ' is declared returned: ' || returned || ', mutability: ' || mutability
            || ' but came back in the export: a leak (its value is not stored by recon)'
    FROM typed
    WHERE has_value AND (returned = 'never' OR mutability = 'writeOnly')
),
-- every URN a shape mentions: listed in schemas, or used as a top-level block of attributes
listed AS (
    SELECT shape_no, resource_type, lower(urn) AS key, min(urn) AS urn
    FROM (SELECT shape_no, resource_type, unnest(schemas) AS urn FROM shapes)
    GROUP BY shape_no, resource_type, lower(urn)
),
blocks AS (
    SELECT shape_no, resource_type, key, path AS urn, observed, has_value
    FROM obs
    WHERE block
),
urns AS (
    SELECT
        coalesce(l.shape_no, k.shape_no) AS shape_no,
        coalesce(l.resource_type, k.resource_type) AS resource_type,
        coalesce(l.key, k.key) AS key,
        coalesce(k.urn, l.urn) AS urn,
        l.key IS NOT NULL AS is_listed,
        coalesce(k.has_value, false) AS has_block,
        -- the same URN may key several blocks spelled in different cases
        bool_or(coalesce(k.has_value, false)) OVER (
            PARTITION BY coalesce(l.shape_no, k.shape_no), coalesce(l.key, k.key)
        ) AS any_block,
        k.observed AS block_observed,
        d.role
    FROM listed AS l
    FULL OUTER JOIN blocks AS k ON k.shape_no = l.shape_no AND k.key = l.key
    LEFT JOIN declared_schemas AS d
        ON d.resource_type = coalesce(l.resource_type, k.resource_type) AND d.key = coalesce(l.key, k.key)
),
urn_findings AS (
    SELECT
        shape_no,
        'undeclared_schema' AS kind,
        'medium' AS severity,
        urn AS attribute,
        urn || ' is '
            || CASE
                WHEN is_listed AND has_block THEN 'listed in schemas and holds attributes'
                WHEN is_listed THEN 'listed in schemas'
                ELSE 'used as a block of attributes'
            END
            || ' but resource type ' || resource_type || ' does not declare it' AS detail
    FROM urns
    WHERE role IS NULL AND (is_listed OR has_block)
    UNION ALL
    SELECT
        shape_no,
        'schema_urn_missing',
        'medium',
        urn,
        'attributes of ' || urn || ' are present but ' || urn
            || ' is not listed in schemas (strict receivers drop them)'
    FROM urns
    WHERE has_block AND NOT is_listed
    UNION ALL
    SELECT
        shape_no,
        'schema_urn_without_block',
        'low',
        urn,
        urn || ' is listed in schemas but none of its attributes is present'
    FROM urns
    WHERE is_listed AND role = 'extension' AND NOT any_block
    UNION ALL
    SELECT
        shape_no,
        'type_mismatch',
        'medium',
        urn,
        urn || ' must be a JSON object holding the extension''s attributes but is a JSON ' || block_observed
    FROM urns
    WHERE has_block AND block_observed NOT IN ('object', 'empty_object')
    UNION ALL
    SELECT
        s.shape_no,
        'schema_urn_missing',
        'medium',
        d.schema,
        'the core schema ' || d.schema || ' is not listed in schemas'
    FROM shapes AS s
    JOIN declared_schemas AS d ON d.resource_type = s.resource_type AND d.role = 'core'
    WHERE NOT list_contains([lower(u) FOR u IN coalesce(s.schemas, [])], d.key)
),
-- required attributes: at the root, in a present extension block, in a present single-valued complex value;
-- required sub-attributes of multi-valued attributes are checked per element by validate_element_findings
required_findings AS (
    SELECT
        s.shape_no,
        'missing_required' AS kind,
        'high' AS severity,
        r.path AS attribute,
        r.path || ' is required by ' || r.schema || ' but absent' AS detail
    FROM shapes AS s
    JOIN declared_attributes AS r ON r.resource_type = s.resource_type AND r.required AND NOT r.in_multi
    WHERE (
            r.parent_key IS NULL
            OR EXISTS (
                SELECT 1 FROM obs AS p
                WHERE p.shape_no = s.shape_no AND p.key = r.parent_key AND p.observed = 'object'
            )
        )
      AND NOT EXISTS (
            SELECT 1 FROM obs AS o
            WHERE o.shape_no = s.shape_no AND o.key = r.key AND o.has_value
        )
    UNION ALL
    SELECT
        s.shape_no,
        'missing_required',
        'high',
        d.schema,
        'resource type ' || s.resource_type || ' requires the extension ' || d.schema || ' but it is absent'
    FROM shapes AS s
    JOIN declared_schemas AS d ON d.resource_type = s.resource_type AND d.role = 'extension' AND d.required
    WHERE NOT EXISTS (
        SELECT 1 FROM obs AS o
        WHERE o.shape_no = s.shape_no AND o.block AND o.key = d.key AND o.has_value
    )
)
SELECT shape_no, kind, severity, attribute, detail FROM attribute_findings
UNION ALL
SELECT shape_no, kind, severity, attribute, detail FROM urn_findings
UNION ALL
SELECT shape_no, kind, severity, attribute, detail FROM required_findings
