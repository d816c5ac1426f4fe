-- name: deltas_users_compare_prints
-- purpose: deltas_users_compare for exports that both carry content_sha256: the same rows, with both raw texts only of the users whose content prints differ (or are null)
-- inputs: base_users, head_users, returned
-- params: none
-- Equal prints mean equal content without meta (recon.fingerprint), so base and head are joined on
-- (id, print) only, narrow; the raw texts are read back just for the ids whose prints differ or
-- are null, and recon.content compares those as deltas_users_compare hands them over. A user
-- whose only change is meta is not a candidate here (recon.content would find no path either).
WITH compared AS (
    SELECT
        coalesce(h.id, b.id) AS id,
        b.id IS NOT NULL AS in_base,
        h.id IS NOT NULL AS in_head,
        coalesce(h.user_name, b.user_name) AS name,
        b.last_modified AS base_last_modified,
        h.last_modified AS head_last_modified,
        b.id IS NOT NULL AND h.id IS NOT NULL
            AND (b.content_sha256 IS NULL OR h.content_sha256 IS NULL OR b.content_sha256 <> h.content_sha256)
            AS print_differs
    FROM (SELECT id, user_name, last_modified, content_sha256 FROM base_users) AS b
    FULL OUTER JOIN (SELECT id, user_name, last_modified, content_sha256 FROM head_users) AS h
        ON h.id = b.id
),
listed AS (
    SELECT
        coalesce(c.id, r.id) AS id,
        c.name,
        c.base_last_modified,
        c.head_last_modified,
        coalesce(c.in_base, false) AS in_base,
        coalesce(c.in_head, false) AS in_head,
        coalesce(c.print_differs, false) AS print_differs,
        r.id IS NOT NULL AS returned,
        coalesce(r.in_filter, false) AS in_filter
    FROM compared AS c
    FULL OUTER JOIN returned AS r ON r.id = c.id
    WHERE r.id IS NOT NULL OR c.print_differs OR NOT c.in_base OR NOT c.in_head
),
base_raw AS (
    SELECT id, raw FROM base_users WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
head_raw AS (
    SELECT id, raw FROM head_users WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
texts AS (
    SELECT b.id, b.raw AS base_raw, h.raw AS head_raw
    FROM base_raw AS b
    JOIN head_raw AS h ON h.id = b.id
    WHERE b.raw IS DISTINCT FROM h.raw
)
SELECT
    'User' AS resource_type,
    l.id,
    l.name,
    l.base_last_modified,
    l.head_last_modified,
    l.in_base,
    l.in_head,
    t.id IS NOT NULL AS candidate,
    false AS members_changed,
    t.base_raw,
    t.head_raw,
    l.returned,
    l.in_filter
FROM listed AS l
LEFT JOIN texts AS t ON t.id = l.id
