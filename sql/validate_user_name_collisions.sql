-- name: validate_user_name_collisions
-- purpose: users whose userName equals another user's under the declared caseExact (case-insensitively unless userName is declared caseExact)
-- inputs: users
-- params: $case_exact
WITH keyed AS (
    SELECT
        id,
        user_name,
        CASE WHEN $case_exact THEN user_name ELSE lower(user_name) END AS name_key
    FROM users
    WHERE user_name IS NOT NULL AND user_name <> ''
),
sets AS (
    SELECT name_key, count(*) AS users, count(DISTINCT user_name) AS spellings
    FROM keyed
    GROUP BY name_key
    HAVING count(*) > 1
),
colliding AS (
    SELECT
        k.id,
        k.user_name,
        s.users,
        s.spellings,
        list(k.id) OVER (PARTITION BY k.name_key ORDER BY k.id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            AS ids
    FROM keyed AS k
    JOIN sets AS s ON s.name_key = k.name_key
)
SELECT
    'user_name_collision' AS kind,
    'high' AS severity,
    'User' AS resource_type,
    id,
    'userName' AS attribute,
    'userName ''' || user_name || ''' collides with ' || (users - 1) || ' other user(s) ('
        || array_to_string(list_filter(ids, lambda x: x <> id)[1:5], ', ')
        || CASE WHEN users > 6 THEN ', …' ELSE '' END
        || CASE
            WHEN spellings > 1 THEN '): the values differ only by case and userName is not caseExact'
            ELSE '): the values are identical'
        END AS detail
FROM colliding
