-- name: filter_groups_with_members
-- purpose: groups with their members as a list of struct(value, type), the shape group filters are compiled for
-- inputs: groups, memberships
-- params: none
WITH members AS (
    -- sorted by (value, type) after aggregating: an aggregate's ORDER BY is lost on Spark
    SELECT group_id, list_sort(list({'value': member_id, 'type': member_type})) AS members
    FROM memberships
    GROUP BY group_id
)
SELECT g.id, g.external_id, g.display_name, g.created, g.last_modified, g.version, g.raw, m.members
FROM groups AS g
LEFT JOIN members AS m ON m.group_id = g.id
