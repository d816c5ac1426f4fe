-- name: deltas_path_counts
-- purpose: per resource type and changed attribute path, how many resources changed it, how many of those the delta returned and how many it missed, and how many of those changed resources (returned or not) have a head meta.lastModified not after the watermark or none (0 without a watermark)
-- inputs: classified, content_paths
-- params: $watermark, $inclusive
-- content_paths: one row (resource_type, id, path) per changed attribute path of a changed resource.
SELECT
    p.resource_type,
    p.path,
    count(*) AS changed,
    count(CASE WHEN c.returned THEN 1 END) AS returned,
    count(CASE WHEN NOT c.returned THEN 1 END) AS missed,
    count(CASE WHEN CAST($watermark AS TIMESTAMPTZ) IS NOT NULL AND (
        c.head_last_modified IS NULL
        OR c.head_last_modified < CAST($watermark AS TIMESTAMPTZ)
        OR (c.head_last_modified = CAST($watermark AS TIMESTAMPTZ) AND NOT $inclusive)
    ) THEN 1 END) AS stale_last_modified
FROM content_paths AS p
JOIN classified AS c ON c.resource_type = p.resource_type AND c.id = p.id
WHERE c.changed
GROUP BY p.resource_type, p.path
ORDER BY p.resource_type, p.path
