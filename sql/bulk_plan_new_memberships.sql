-- name: bulk_plan_new_memberships
-- purpose: the source memberships a remediation must create because their group or member is being created (missing_in_target / group_missing_in_target), with each side resolved to a new resource or its matched target resource
-- inputs: findings, source_users, source_groups, source_memberships, user_matches, group_matches, target_groups
-- params: none
-- user_matches / group_matches: (source_id, target_id), the 1:1 matches of the reconcile.
-- A membership whose other side is neither created nor matched (ambiguous, out of scope,
-- inactive without an account, dangling) is left out: no target resource can hold it.
WITH new_users AS (
    SELECT DISTINCT source_id AS id FROM findings WHERE kind = 'missing_in_target'
),
new_groups AS (
    SELECT DISTINCT group_id AS id FROM findings WHERE kind = 'group_missing_in_target'
),
-- only memberships touching a created group or member can qualify: narrowing the (large)
-- memberships table by id first keeps the typing joins and the DISTINCT to those few rows
touching AS (
    SELECT m.group_id, m.member_id, m.member_type
    FROM source_memberships AS m
    WHERE m.group_id IN (SELECT id FROM new_groups)
        OR m.member_id IN (SELECT id FROM new_users UNION ALL SELECT id FROM new_groups)
),
-- a member's type from the source export only where the membership row has none: joined
-- whole, the 1,000,000 source users' ids were scanned and probed for 400,000 typed rows
typed AS (
    SELECT DISTINCT group_id, member_id, member_type
    FROM (
        SELECT m.group_id, m.member_id, m.member_type FROM touching AS m WHERE m.member_type IS NOT NULL
        UNION ALL
        SELECT
            m.group_id,
            m.member_id,
            CASE WHEN u.id IS NOT NULL THEN 'User' WHEN g.id IS NOT NULL THEN 'Group' END AS member_type
        FROM touching AS m
        LEFT JOIN source_users AS u ON u.id = m.member_id
        LEFT JOIN source_groups AS g ON g.id = m.member_id
        WHERE m.member_type IS NULL
    )
),
resolved AS (
    SELECT
        t.group_id AS source_group_id,
        t.member_id AS source_member_id,
        t.member_type,
        ng.id IS NOT NULL AS group_is_new,
        gm.target_id AS target_group_id,
        (nu.id IS NOT NULL OR nmg.id IS NOT NULL) AS member_is_new,
        CASE WHEN t.member_type = 'User' THEN um.target_id ELSE mgm.target_id END AS target_member_id
    FROM typed AS t
    LEFT JOIN new_groups AS ng ON ng.id = t.group_id
    LEFT JOIN group_matches AS gm ON gm.source_id = t.group_id
    LEFT JOIN new_users AS nu ON t.member_type = 'User' AND nu.id = t.member_id
    LEFT JOIN new_groups AS nmg ON t.member_type = 'Group' AND nmg.id = t.member_id
    LEFT JOIN user_matches AS um ON t.member_type = 'User' AND um.source_id = t.member_id
    LEFT JOIN group_matches AS mgm ON t.member_type = 'Group' AND mgm.source_id = t.member_id
)
SELECT
    r.source_group_id,
    r.group_is_new,
    r.target_group_id,
    tg.version AS target_group_version,
    r.source_member_id,
    r.member_type,
    r.member_is_new,
    r.target_member_id
FROM resolved AS r
LEFT JOIN target_groups AS tg ON tg.id = r.target_group_id
WHERE (r.group_is_new OR r.member_is_new)
    AND (r.group_is_new OR r.target_group_id IS NOT NULL)
    AND (r.member_is_new OR r.target_member_id IS NOT NULL)
    AND r.member_type IS NOT NULL
ORDER BY r.source_group_id, r.member_type DESC, r.source_member_id
