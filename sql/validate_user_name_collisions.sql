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
-- the hashes of keys held more than once, found by counting 64-bit hashes alone (cheaper than the texts);
-- the keys under those hashes are then counted exactly, so two keys that share a hash never collide
repeated AS (
    SELECT fp64(name_key) AS name_hash
    FROM keyed
    GROUP BY name_hash
    HAVING count(*) > 1
),
candidates AS (
    SELECT k.id, k.user_name, k.name_key
    FROM keyed AS k
    WHERE fp64(k.name_key) IN (SELECT name_hash FROM repeated)
),
sets AS (
    SELECT name_key, count(*) AS users, count(DISTINCT user_name) AS spellings, list(id ORDER BY id) AS ids
    FROM candidates
    GROUP BY name_key
    HAVING count(*) > 1
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
FROM candidates AS c
JOIN sets AS s ON s.name_key = c.name_key
