-- name: validate_mapping_case_collisions
-- purpose: source and target users whose userName or primary email are equal except for case (high when either side declares the attribute caseExact, else low)
-- inputs: source_users, target_users
-- params: $user_name_case_exact, $email_case_exact
WITH pairs AS (
    SELECT
        'userName' AS attribute,
        s.id AS source_id,
        t.id AS target_id,
        s.user_name AS source_value,
        t.user_name AS target_value,
        $user_name_case_exact AS case_exact
    FROM source_users AS s
    JOIN target_users AS t ON lower(s.user_name) = lower(t.user_name)
    WHERE s.user_name <> t.user_name
    UNION ALL
    SELECT
        'emails[primary]',
        s.id,
        t.id,
        s.primary_email,
        t.primary_email,
        $email_case_exact
    FROM source_users AS s
    JOIN target_users AS t ON lower(s.primary_email) = lower(t.primary_email)
    WHERE s.primary_email <> t.primary_email
)
SELECT
    'cross_system_case_collision' AS kind,
    CASE WHEN case_exact THEN 'high' ELSE 'low' END AS severity,
    attribute,
    attribute AS source_attribute,
    attribute AS target_attribute,
    source_id,
    target_id,
    source_value,
    target_value,
    attribute || ' ''' || source_value || ''' in the source and ''' || target_value
        || ''' in the target differ only by case'
        || CASE WHEN case_exact
            THEN '; a side declares it caseExact, so they are different values there'
            ELSE ' (equal under caseExact=false, but stored differently)'
        END AS detail
FROM pairs
ORDER BY attribute, source_id, target_id
