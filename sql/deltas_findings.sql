-- name: deltas_findings
-- purpose: delta_findings.parquet rows (CONTRACT §5) from the classified users and groups
-- inputs: classified
-- params: $watermark, $inclusive
-- classified.changed_paths names the attribute paths whose content changed (recon.content); the
-- details of missed_change and stale_last_modified end with them.
WITH moved AS (
    SELECT *, in_head AND (changed OR NOT in_base) AS moved
    FROM classified
),
rows AS (
    SELECT 'missed_change' AS kind, resource_type, id, name, base_last_modified, head_last_modified,
        'changed since the base but not in the delta export: ' || changed_paths AS detail
    FROM moved WHERE changed AND NOT returned
    UNION ALL
    SELECT 'missed_creation', resource_type, id, name, base_last_modified, head_last_modified,
        'created since the base but not in the delta export'
    FROM moved WHERE in_head AND NOT in_base AND NOT returned
    UNION ALL
    SELECT 'unreported_deletion', resource_type, id, name, base_last_modified, head_last_modified,
        'deleted since the base (a filter cannot return deletions: a full export is still needed)'
    FROM moved WHERE in_base AND NOT in_head AND NOT returned  -- returned: reported (Graph @removed)
    UNION ALL
    SELECT 'unchanged_returned', resource_type, id, name, base_last_modified, head_last_modified,
        'returned by the delta although its content did not change: no attribute changed'
    FROM moved WHERE returned AND in_base AND in_head AND NOT changed
    UNION ALL
    SELECT 'stale_last_modified', resource_type, id, name, base_last_modified, head_last_modified,
        CASE WHEN in_base THEN 'changed' ELSE 'created' END
        || CASE
            WHEN head_last_modified IS NULL THEN ' but has no meta.lastModified'
            ELSE ' but meta.lastModified is not after the watermark'
        END
        || CASE WHEN in_base THEN ': ' || changed_paths ELSE '' END
    FROM moved
    WHERE moved AND CAST($watermark AS TIMESTAMPTZ) IS NOT NULL AND (
        head_last_modified IS NULL
        OR head_last_modified < CAST($watermark AS TIMESTAMPTZ)
        OR (head_last_modified = CAST($watermark AS TIMESTAMPTZ) AND NOT $inclusive)
    )
    UNION ALL
    SELECT 'outside_filter', resource_type, id, name, base_last_modified, head_last_modified,
        'returned by the delta although it does not satisfy the filter sent'
    FROM moved WHERE returned AND NOT in_filter
)
SELECT kind, resource_type, id, name, base_last_modified, head_last_modified, detail
FROM rows
ORDER BY resource_type, kind, id
