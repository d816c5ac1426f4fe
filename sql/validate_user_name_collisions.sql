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
-- the keys held more than once, found by counting alone; spellings are counted for those keys only
repeated AS (
    SELECT name_key
    FROM keyed
    GROUP BY name_key
    HAVING count(*) > 1
),
colliding AS (
    SELECT k.id, k.user_name, k.name_key
    FROM keyed AS k
    JOIN repeated AS r ON r.name_key = k.name_key
),
sets AS (
    SELECT name_key, count(*) AS users, count(DISTINCT user_name) AS spellings, list(id ORDER BY id) AS ids
    FROM colliding
    GROUP BY name_key
)
SELECT
    'user_name_collision' AS kind,
    'high' AS severity,
    'User' AS resource_type,
    c.id,
    'userName' AS attribute,
    'userName ''' || c.user_name || ''' collides with ' || (s.users - 1) || ' other user(s) ('
        || array_to_string(list_filter(s.ids, lambda x: x <> c.id)[1:5], ', ')
        || CASE WHEN s.users > 6 THEN ', …' ELSE '' END
        || CASE
            WHEN s.spellings > 1 THEN '): the values differ only by case and userName is not caseExact'
            ELSE '): the values are identical'
        END AS detail
FROM colliding AS c
JOIN sets AS s ON s.name_key = c.name_key
