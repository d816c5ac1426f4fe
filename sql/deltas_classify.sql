-- name: deltas_classify
-- purpose: what happened to each compared user and group: in base, in head, changed (some attribute path's content differs), returned by the delta, in the filter; with the changed paths as text
-- inputs: compared, content_changes
-- params: none
-- compared: the rows of deltas_users_compare and deltas_groups_compare; content_changes: one row
-- (resource_type, id, changed_paths) per compared resource whose content differs, changed_paths
-- naming its changed attribute paths (recon.content).
SELECT
    c.resource_type,
    c.id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    c.in_base,
    c.in_head,
    c.in_base AND c.in_head AND x.id IS NOT NULL AS changed,
    c.returned,
    c.in_filter,
    x.changed_paths
FROM compared AS c
LEFT JOIN content_changes AS x ON x.resource_type = c.resource_type AND x.id = c.id
