-- name: probe_samples
-- purpose: values taken from the latest full export to build probe filters whose right answer is not empty: two users with a letter in their userName (the first active with a work email when there is one), a late lastModified (95th percentile), and whether any user has a title
-- inputs: users
-- params: none
WITH candidates AS (
    SELECT
        id,
        user_name,
        coalesce(
            list_filter(emails, lambda e: lower(e.type) = 'work' AND e.value LIKE '%@%')[1].value,
            primary_email
        ) AS email,
        coalesce(active, true) AS active
    FROM users
    WHERE regexp_matches(user_name, '[A-Za-z]') AND length(user_name) >= 4
),
ranked AS (
    SELECT
        user_name,
        email,
        row_number() OVER (ORDER BY active DESC, email IS NULL, id) AS rank
    FROM candidates
),
stats AS (
    SELECT
        count(*) AS users,
        count(CASE WHEN nullif(title, '') IS NOT NULL THEN 1 END) AS titled,
        quantile_disc(last_modified, 0.95) AS late_last_modified
    FROM users
)
SELECT
    s.users,
    s.titled,
    s.late_last_modified,
    a.user_name AS anchor_user_name,
    a.email AS anchor_email,
    b.user_name AS second_user_name
FROM stats AS s
LEFT JOIN ranked AS a ON a.rank = 1
LEFT JOIN ranked AS b ON b.rank = 2
