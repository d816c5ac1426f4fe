-- name: reconcile_scope_roots
-- purpose: the source groups named by scope_groups (displayName, case-insensitive); a name that matches no group comes back with a NULL group_id
-- inputs: scope_groups, source_groups
-- params: none
SELECT s.display_name AS scope_group, g.id AS group_id
FROM scope_groups AS s
LEFT JOIN source_groups AS g ON lower(g.display_name) = lower(s.display_name)
ORDER BY s.display_name, g.id
