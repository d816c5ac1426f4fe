-- name: reconcile_findings
-- purpose: every finding of one reconcile, in CONTRACT §4 column order, sorted deterministically
-- inputs: user_findings, group_findings, attribute_findings, membership_findings
-- params: none
WITH all_findings AS (
    SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
        attribute, source_value, target_value, detail
    FROM user_findings
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
        attribute, source_value, target_value, detail
    FROM group_findings
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
        attribute, source_value, target_value, detail
    FROM attribute_findings
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
        attribute, source_value, target_value, detail
    FROM membership_findings
)
SELECT kind, severity, source_id, target_id, user_name, group_id, target_group_id, group_name,
    attribute, source_value, target_value, detail
FROM all_findings
ORDER BY kind, source_id NULLS FIRST, target_id NULLS FIRST, group_id NULLS FIRST,
    target_group_id NULLS FIRST, attribute NULLS FIRST
