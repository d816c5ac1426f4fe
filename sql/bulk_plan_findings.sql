-- name: bulk_plan_findings
-- purpose: the remediable findings of one reconcile with what a remediation needs: the source resource (raw), the target resource's version and activity, and a membership member's type in the target
-- inputs: findings, source_users, source_groups, target_users, target_groups
-- params: none
-- source_raw is the source user for account kinds, the source group for group_missing_in_target;
-- target_version is the target user's for account kinds, the target group's for group and
-- membership kinds (the resource a remediation PATCHes or DELETEs).
-- The source users are narrowed to those findings name before the join: joined whole, the
-- hash table would be built over every user's raw text. Of a finding, only its identity
-- (recon.findings.FINDING_IDENTITY) is returned: what a remediation cites; the rest would only
-- be sorted and turned into Python values (240,000 rows at 1M users).
-- target_users is joined once, for the account kinds (version, activity) and the membership
-- kinds (a member that is a target user): two joins scanned its ids twice (1M users: 0.71 against
-- 0.60 CPU s for the statement, the same rows).
-- Which resources a finding's kind involves is said once, in `involved`: the source user (the
-- account kinds a remediation writes from the source), the source group (a group it creates), the
-- target user (the account kinds whose target account it PATCHes or DELETEs), the target group
-- (the membership kinds and an orphaned group) and a membership's member.
WITH involved AS (
    SELECT
        f.kind, f.source_id, f.target_id, f.group_id, f.target_group_id, f.attribute,
        f.kind IN ('missing_in_target', 'delayed_deactivation', 'delayed_activation', 'attribute_mismatch')
            AS of_source_user,
        f.kind IN ('orphaned_in_target', 'delayed_deactivation', 'delayed_activation', 'attribute_mismatch')
            AS of_target_user,
        f.kind IN ('membership_missing', 'membership_excess') AS of_membership,
        f.kind = 'group_missing_in_target' AS of_source_group,
        f.kind IN ('membership_missing', 'membership_excess', 'group_orphaned_in_target') AS of_target_group
    FROM findings AS f
),
needed_source_users AS (
    SELECT u.id, u.raw
    FROM source_users AS u
    WHERE u.id IN (SELECT source_id FROM involved WHERE of_source_user)
)
SELECT
    f.kind,
    f.source_id,
    f.target_id,
    f.group_id,
    f.target_group_id,
    f.attribute,
    CASE WHEN f.of_source_group THEN sg.raw ELSE su.raw END AS source_raw,
    CASE
        WHEN f.of_target_group THEN tg.version
        WHEN f.of_target_user THEN tu.version
    END AS target_version,
    CASE WHEN f.of_target_user THEN tu.active END AS target_active,
    CASE
        WHEN NOT f.of_membership THEN NULL
        WHEN tu.id IS NOT NULL THEN 'User'
        WHEN mg.id IS NOT NULL THEN 'Group'
    END AS member_type
FROM involved AS f
LEFT JOIN needed_source_users AS su
    ON su.id = f.source_id AND f.of_source_user
LEFT JOIN source_groups AS sg
    ON sg.id = f.group_id AND f.of_source_group
LEFT JOIN target_users AS tu
    ON tu.id = f.target_id AND (f.of_target_user OR f.of_membership)
LEFT JOIN target_groups AS tg
    ON tg.id = f.target_group_id AND f.of_target_group
LEFT JOIN target_groups AS mg
    ON mg.id = f.target_id AND f.of_membership
ORDER BY
    f.kind,
    f.target_group_id NULLS FIRST,
    f.target_id NULLS FIRST,
    f.group_id NULLS FIRST,
    f.source_id NULLS FIRST,
    f.attribute NULLS FIRST
