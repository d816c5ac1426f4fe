-- name: reconcile_user_findings
-- purpose: account findings from the user correlation: ambiguous_match, missing_in_target, orphaned_in_target, delayed_deactivation, delayed_activation
-- inputs: source_users, target_users, user_correlation, scoped_users, user_match_rules
-- params: $scoped, $part
-- user_correlation: (rule, source_id, target_id, ambiguous, source_active, target_active); a
-- record in any row is decided, so ambiguous records get no other finding. scoped_users: (user_id) in scope when $scoped.
-- user_match_rules: (rule, description) for the detail text.
-- $part: 'missing' (source accounts no rule decided), 'orphaned' (target accounts no rule
-- decided) or 'pairs' (ambiguous_match and the activity findings); reconcile runs the three
-- parts one after the other and keeps each: the two anti joins each hold every decided id of one
-- side, and at 10M users one statement holding both at once spilled (18.6 -> 13.9 CPU s split,
-- benchmarks/results/reconcile.md). The engines drop the branches of the other parts (a
-- constant false filter).
-- The user tables are read where needed rather than through a shared CTE, which DuckDB would
-- materialise (every account, twice) instead of scanning the few columns again.
WITH ambiguous AS (
    SELECT
        'ambiguous_match' AS kind,
        'high' AS severity,
        c.source_id,
        c.target_id,
        s.user_name,
        'source user ' || coalesce(s.user_name, c.source_id) || ' and target user '
            || coalesce(t.user_name, c.target_id) || ' are one of several candidate pairs under match rule '
            || coalesce(r.description, CAST(c.rule AS VARCHAR)) || ', so neither is matched' AS detail
    FROM user_correlation AS c
    JOIN source_users AS s ON s.id = c.source_id
    JOIN target_users AS t ON t.id = c.target_id
    LEFT JOIN user_match_rules AS r ON r.rule = c.rule
    WHERE c.ambiguous
),
missing AS (
    SELECT
        'missing_in_target' AS kind,
        'high' AS severity,
        s.id AS source_id,
        CAST(NULL AS VARCHAR) AS target_id,
        s.user_name,
        'source user ' || coalesce(s.user_name, s.id) || ' is active and in scope but has no target account'
            AS detail
    FROM source_users AS s
    ANTI JOIN user_correlation AS c ON c.source_id = s.id
    WHERE s.active IS DISTINCT FROM false
        AND (NOT $scoped OR s.id IN (SELECT user_id FROM scoped_users))
),
orphaned AS (
    SELECT
        'orphaned_in_target' AS kind,
        CASE WHEN t.active IS DISTINCT FROM false THEN 'critical' ELSE 'low' END AS severity,
        CAST(NULL AS VARCHAR) AS source_id,
        t.id AS target_id,
        t.user_name,
        CASE
            WHEN t.active IS DISTINCT FROM false
                THEN 'target user ' || coalesce(t.user_name, t.id) || ' is active and matches no source user'
            ELSE 'target user ' || coalesce(t.user_name, t.id) || ' is inactive and matches no source user'
        END AS detail
    FROM target_users AS t
    ANTI JOIN user_correlation AS c ON c.target_id = t.id
),
-- The activity findings: the matched pairs with an inactive side, found from the active flags
-- the correlation carries (no probe of every pair against each side's inactive accounts: at 1M
-- users the two joins cost ~0.5 CPU s, the filter ~0.1; benchmarks/results/reconcile.md), then
-- their source accounts for the user name.
flagged AS (
    SELECT c.source_id, c.target_id, c.source_active, c.target_active
    FROM user_correlation AS c
    WHERE NOT c.ambiguous AND (c.source_active = false OR c.target_active = false)
),
activity AS (
    SELECT
        CASE WHEN f.source_active = false THEN 'delayed_deactivation' ELSE 'delayed_activation' END AS kind,
        CASE WHEN f.source_active = false THEN 'critical' ELSE 'medium' END AS severity,
        f.source_id,
        f.target_id,
        s.user_name,
        CASE
            WHEN f.source_active = false
                THEN 'user ' || coalesce(s.user_name, f.source_id)
                    || ' is inactive in the source but still active in the target'
            ELSE 'user ' || coalesce(s.user_name, f.source_id) || ' is active in the source but inactive in the target'
        END AS detail
    FROM flagged AS f
    JOIN source_users AS s ON s.id = f.source_id
    WHERE (f.source_active = false AND f.target_active IS DISTINCT FROM false)
        OR (f.target_active = false AND f.source_active IS DISTINCT FROM false)
),
accounts AS (
    SELECT kind, severity, source_id, target_id, user_name, detail FROM ambiguous WHERE $part = 'pairs'
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, detail FROM missing WHERE $part = 'missing'
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, detail FROM orphaned WHERE $part = 'orphaned'
    UNION ALL
    SELECT kind, severity, source_id, target_id, user_name, detail FROM activity WHERE $part = 'pairs'
)
SELECT
    kind,
    severity,
    source_id,
    target_id,
    user_name,
    CAST(NULL AS VARCHAR) AS group_id,
    CAST(NULL AS VARCHAR) AS target_group_id,
    CAST(NULL AS VARCHAR) AS group_name,
    CAST(NULL AS VARCHAR) AS attribute,
    CAST(NULL AS VARCHAR) AS source_value,
    CAST(NULL AS VARCHAR) AS target_value,
    detail
FROM accounts
