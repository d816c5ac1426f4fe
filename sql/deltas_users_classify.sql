-- name: deltas_users_classify
-- purpose: every user that changed, was created or deleted between the base and head full exports, or that the delta export returned, with what happened to it
-- inputs: base_users, head_users, delta_users, delta_users_matching
-- params: none
WITH compared AS (
    SELECT
        coalesce(h.id, b.id) AS id,
        b.id IS NOT NULL AS in_base,
        h.id IS NOT NULL AS in_head,
        coalesce(h.user_name, b.user_name) AS name,
        b.last_modified AS base_last_modified,
        h.last_modified AS head_last_modified,
        b.id IS NOT NULL AND h.id IS NOT NULL AND (
            b.external_id IS DISTINCT FROM h.external_id
            OR b.user_name IS DISTINCT FROM h.user_name
            OR b.active IS DISTINCT FROM h.active
            OR b.display_name IS DISTINCT FROM h.display_name
            OR b.given_name IS DISTINCT FROM h.given_name
            OR b.family_name IS DISTINCT FROM h.family_name
            OR b.primary_email IS DISTINCT FROM h.primary_email
            OR b.employee_number IS DISTINCT FROM h.employee_number
            OR b.department IS DISTINCT FROM h.department
            OR b.title IS DISTINCT FROM h.title
            OR b.manager_id IS DISTINCT FROM h.manager_id
            OR b.user_type IS DISTINCT FROM h.user_type
            OR CASE
                WHEN b.emails IS NOT DISTINCT FROM h.emails THEN false
                ELSE list_sort(list_distinct(list_filter(coalesce(b.emails, []), lambda e: e IS NOT NULL)))
                    IS DISTINCT FROM
                    list_sort(list_distinct(list_filter(coalesce(h.emails, []), lambda e: e IS NOT NULL)))
            END
        ) AS changed
    FROM base_users AS b
    FULL OUTER JOIN head_users AS h ON h.id = b.id
),
returned AS (
    SELECT d.id, m.id IS NOT NULL AS in_filter
    FROM delta_users AS d
    LEFT JOIN delta_users_matching AS m ON m.id = d.id
)
SELECT
    'User' AS resource_type,
    coalesce(c.id, r.id) AS id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    coalesce(c.in_base, false) AS in_base,
    coalesce(c.in_head, false) AS in_head,
    coalesce(c.changed, false) AS changed,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.changed OR NOT c.in_base OR NOT c.in_head
