-- name: reconcile_group_findings
-- purpose: group findings from the group correlation: ambiguous_match (group ids set), group_missing_in_target, group_orphaned_in_target
-- inputs: source_groups, target_groups, group_correlation, group_match_rules
-- params: $assignment_prefix
-- group_correlation: (rule, source_id, target_id, ambiguous); group_match_rules: (rule, description).
-- $assignment_prefix: ids of groups an IdP export adds to hold an app's assigned users (a scope,
-- never provisioned): such a group is never group_missing_in_target.
WITH ambiguous AS (
    SELECT
        'ambiguous_match' AS kind,
        'high' AS severity,
        c.source_id AS group_id,
        c.target_id AS target_group_id,
        s.display_name AS group_name,
        'source group ' || coalesce(s.display_name, c.source_id) || ' and target group '
            || coalesce(t.display_name, c.target_id) || ' are one of several candidate pairs under match rule '
            || coalesce(r.description, CAST(c.rule AS VARCHAR)) || ', so neither is matched' AS detail
    FROM group_correlation AS c
    JOIN source_groups AS s ON s.id = c.source_id
    JOIN target_groups AS t ON t.id = c.target_id
    LEFT JOIN group_match_rules AS r ON r.rule = c.rule
    WHERE c.ambiguous
),
missing AS (
    SELECT
        'group_missing_in_target' AS kind,
        'medium' AS severity,
        s.id AS group_id,
        CAST(NULL AS VARCHAR) AS target_group_id,
        s.display_name AS group_name,
        'source group ' || coalesce(s.display_name, s.id) || ' has no target group' AS detail
    FROM source_groups AS s
    ANTI JOIN group_correlation AS c ON c.source_id = s.id
    WHERE substr(s.id, 1, length($assignment_prefix)) <> $assignment_prefix
),
orphaned AS (
    SELECT
        'group_orphaned_in_target' AS kind,
        'medium' AS severity,
        CAST(NULL AS VARCHAR) AS group_id,
        t.id AS target_group_id,
        t.display_name AS group_name,
        'target group ' || coalesce(t.display_name, t.id) || ' matches no source group' AS detail
    FROM target_groups AS t
    ANTI JOIN group_correlation AS c ON c.target_id = t.id
),
all_groups AS (
    SELECT kind, severity, group_id, target_group_id, group_name, detail FROM ambiguous
    UNION ALL
    SELECT kind, severity, group_id, target_group_id, group_name, detail FROM missing
    UNION ALL
    SELECT kind, severity, group_id, target_group_id, group_name, detail FROM orphaned
)
SELECT
    kind,
    severity,
    CAST(NULL AS VARCHAR) AS source_id,
    CAST(NULL AS VARCHAR) AS target_id,
    CAST(NULL AS VARCHAR) AS user_name,
    group_id,
    target_group_id,
    group_name,
    CAST(NULL AS VARCHAR) AS attribute,
    CAST(NULL AS VARCHAR) AS source_value,
    CAST(NULL AS VARCHAR) AS target_value,
    detail
FROM all_groups
