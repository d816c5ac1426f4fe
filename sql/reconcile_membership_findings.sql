-- name: reconcile_membership_findings
-- purpose: membership drift through the correlation: membership_missing (source membership absent in the target) and membership_excess (target membership absent in the source; critical in a privileged group)
-- inputs: source_memberships, target_memberships, source_users, source_groups, target_users, target_groups, group_correlation, privileged_groups, differing_users
-- params: none
-- Only memberships whose group and member are both matched (1:1, not ambiguous) are compared:
-- the account and group findings cover the others. Nested groups are compared as direct
-- memberships. A member without member_type is a user when its id is a user of that system,
-- else a group when it is a group (else it is dangling and matches nothing).
-- User members, the bulk, are compared by a fingerprint per matched user of its matched groups
-- (reconcile_member_prints of each side): only the matched users whose prints differ
-- (differing_users: (source_id, target_id) from reconcile_membership_differing_users) are
-- expanded into memberships here and compared row by row, on the id text.
-- privileged_groups: (display_name) of source groups, compared case-insensitively.
WITH group_map AS (
    SELECT source_id, target_id FROM group_correlation WHERE NOT ambiguous
),
-- second pass over the memberships: the rows of differing users and every row that may be a
-- nested group, read once for both uses below
source_rows AS (
    SELECT group_id, member_id, member_type
    FROM source_memberships
    WHERE member_type IS DISTINCT FROM 'User' OR member_id IN (SELECT source_id FROM differing_users)
),
target_rows AS (
    SELECT group_id, member_id, member_type
    FROM target_memberships
    WHERE member_type IS DISTINCT FROM 'User' OR member_id IN (SELECT target_id FROM differing_users)
),
expected_users AS (
    SELECT m.group_id, m.member_id, g.target_id AS target_group_id, d.target_id AS target_member_id
    FROM source_rows AS m
    JOIN differing_users AS d ON d.source_id = m.member_id
    JOIN group_map AS g ON g.source_id = m.group_id
    WHERE m.member_type = 'User' OR m.member_type IS NULL
),
actual_users AS (
    SELECT g.source_id AS group_id, d.source_id AS member_id, m.group_id AS target_group_id,
        m.member_id AS target_member_id
    FROM target_rows AS m
    JOIN differing_users AS d ON d.target_id = m.member_id
    JOIN group_map AS g ON g.target_id = m.group_id
    WHERE m.member_type = 'User' OR m.member_type IS NULL
),
-- nested groups: few rows, compared in full
-- (an untyped member is a group when its id is a group's and not a user's: the small set of
-- untyped group ids is checked against the users, not every membership)
source_nested AS (
    SELECT group_id, member_id FROM source_rows WHERE member_type = 'Group'
    UNION ALL
    SELECT m.group_id, m.member_id
    FROM source_rows AS m
    SEMI JOIN source_groups AS g ON g.id = m.member_id
    ANTI JOIN source_users AS u ON u.id = m.member_id
    WHERE m.member_type IS NULL
),
target_nested AS (
    SELECT group_id, member_id FROM target_rows WHERE member_type = 'Group'
    UNION ALL
    SELECT m.group_id, m.member_id
    FROM target_rows AS m
    SEMI JOIN target_groups AS g ON g.id = m.member_id
    ANTI JOIN target_users AS u ON u.id = m.member_id
    WHERE m.member_type IS NULL
),
expected_groups AS (
    SELECT m.group_id, m.member_id, g.target_id AS target_group_id, n.target_id AS target_member_id
    FROM source_nested AS m
    JOIN group_map AS g ON g.source_id = m.group_id
    JOIN group_map AS n ON n.source_id = m.member_id
),
actual_groups AS (
    SELECT g.source_id AS group_id, n.source_id AS member_id, m.group_id AS target_group_id,
        m.member_id AS target_member_id
    FROM target_nested AS m
    JOIN group_map AS g ON g.target_id = m.group_id
    JOIN group_map AS n ON n.target_id = m.member_id
),
drift AS (
    SELECT 'membership_missing' AS kind, 'User' AS member_type, e.group_id, e.member_id, e.target_group_id,
        e.target_member_id
    FROM expected_users AS e
    ANTI JOIN actual_users AS a ON a.group_id = e.group_id AND a.member_id = e.member_id
    UNION ALL
    SELECT 'membership_excess' AS kind, 'User' AS member_type, a.group_id, a.member_id, a.target_group_id,
        a.target_member_id
    FROM actual_users AS a
    ANTI JOIN expected_users AS e ON e.group_id = a.group_id AND e.member_id = a.member_id
    UNION ALL
    SELECT 'membership_missing' AS kind, 'Group' AS member_type, e.group_id, e.member_id, e.target_group_id,
        e.target_member_id
    FROM expected_groups AS e
    ANTI JOIN actual_groups AS a ON a.group_id = e.group_id AND a.member_id = e.member_id
    UNION ALL
    SELECT 'membership_excess' AS kind, 'Group' AS member_type, a.group_id, a.member_id, a.target_group_id,
        a.target_member_id
    FROM actual_groups AS a
    ANTI JOIN expected_groups AS e ON e.group_id = a.group_id AND e.member_id = a.member_id
),
named AS (
    SELECT
        d.kind,
        d.group_id,
        d.member_id,
        d.member_type,
        d.target_group_id,
        d.target_member_id,
        g.display_name AS group_name,
        u.user_name,
        coalesce(u.user_name, n.display_name, d.member_id) AS member_name,
        p.display_name IS NOT NULL AS privileged
    FROM drift AS d
    LEFT JOIN source_groups AS g ON g.id = d.group_id
    LEFT JOIN source_users AS u ON d.member_type = 'User' AND u.id = d.member_id
    LEFT JOIN source_groups AS n ON d.member_type = 'Group' AND n.id = d.member_id
    LEFT JOIN (SELECT DISTINCT lower(display_name) AS display_name FROM privileged_groups) AS p
        ON p.display_name = lower(g.display_name)
)
SELECT
    kind,
    CASE
        WHEN kind = 'membership_missing' THEN 'medium'
        WHEN privileged THEN 'critical'
        ELSE 'high'
    END AS severity,
    member_id AS source_id,
    target_member_id AS target_id,
    user_name,
    group_id,
    target_group_id,
    group_name,
    CAST(NULL AS VARCHAR) AS attribute,
    CAST(NULL AS VARCHAR) AS source_value,
    CAST(NULL AS VARCHAR) AS target_value,
    CASE
        WHEN kind = 'membership_missing'
            THEN lower(member_type) || ' ' || member_name || ' is a member of '
                || coalesce(group_name, group_id) || ' in the source but not in the target'
        ELSE lower(member_type) || ' ' || member_name || ' is a member of '
            || coalesce(group_name, group_id) || ' in the target but not in the source'
            || CASE WHEN privileged THEN ' (privileged group)' ELSE '' END
    END AS detail
FROM named
