-- name: reconcile_scope_users
-- purpose: the source users in scope: direct or transitive (through nested groups) members of the scope root groups
-- inputs: scope_roots, source_memberships, source_users, source_groups
-- params: none
-- A member without member_type is a user when its id is a source user, else a group when it
-- is a source group (as in reconcile_membership_findings). UNION (not UNION ALL) in the
-- recursion makes a cycle of nested groups terminate.
WITH typed AS (
    SELECT group_id, member_id, member_type
    FROM source_memberships
    WHERE member_type IS NOT NULL
    UNION ALL
    SELECT
        m.group_id,
        m.member_id,
        CASE WHEN u.id IS NOT NULL THEN 'User' WHEN g.id IS NOT NULL THEN 'Group' END AS member_type
    FROM source_memberships AS m
    LEFT JOIN source_users AS u ON u.id = m.member_id
    LEFT JOIN source_groups AS g ON g.id = m.member_id
    WHERE m.member_type IS NULL
),
reached AS (
    WITH RECURSIVE walk (group_id) AS (
        SELECT group_id FROM scope_roots WHERE group_id IS NOT NULL
        UNION
        SELECT t.member_id AS group_id
        FROM walk AS w
        JOIN typed AS t ON t.group_id = w.group_id
        WHERE t.member_type = 'Group'
    )
    SELECT group_id FROM walk
)
SELECT DISTINCT t.member_id AS user_id
FROM typed AS t
SEMI JOIN reached AS r ON r.group_id = t.group_id
WHERE t.member_type = 'User'
