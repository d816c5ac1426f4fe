-- name: deltas_users_listed_by_prints
-- purpose: for exports that both carry content_sha256, the users deltas_users_compare would list (created, deleted, returned by the delta export, or with differing content prints) without their raw texts, each marked print_differs where the prints differ or are null
-- inputs: base_users, head_users, returned
-- params: none
-- Equal prints mean equal content without meta (recon.fingerprint), so base and head are joined on
-- (id, print) only, narrow; deltas_texts_where_prints_differ then reads the raw texts back just
-- for the rows marked print_differs. A user whose only change is meta is not listed for that
-- (recon.content would find no path either).
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
)
SELECT
    'User' AS resource_type,
    coalesce(c.id, r.id) AS id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    coalesce(c.in_base, false) AS in_base,
    coalesce(c.in_head, false) AS in_head,
    coalesce(c.print_differs, false) AS print_differs,
        false AS members_changed,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.print_differs OR NOT c.in_base OR NOT c.in_head
