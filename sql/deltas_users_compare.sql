-- name: deltas_users_compare
-- purpose: every user that was created or deleted between the base and head full exports, whose raw JSON differs between them, or that the delta export returned; both raw texts where they differ, for recon.content to decide whether the content changed
-- inputs: base_users, head_users, returned
-- params: none
-- Identical raw text means identical content (meta included), so only users whose text differs
-- are handed to the content comparison; most users of a directory do not change in a cycle.
WITH compared AS (
    SELECT
        coalesce(h.id, b.id) AS id,
        b.id IS NOT NULL AS in_base,
        h.id IS NOT NULL AS in_head,
        coalesce(h.user_name, b.user_name) AS name,
        b.last_modified AS base_last_modified,
        h.last_modified AS head_last_modified,
        b.id IS NOT NULL AND h.id IS NOT NULL AND b.raw IS DISTINCT FROM h.raw AS raw_differs,
        CASE WHEN b.raw IS DISTINCT FROM h.raw THEN b.raw END AS base_raw,
        CASE WHEN b.raw IS DISTINCT FROM h.raw THEN h.raw END AS head_raw
    FROM base_users AS b
    FULL OUTER JOIN head_users AS h ON h.id = b.id
)
SELECT
    'User' AS resource_type,
    coalesce(c.id, r.id) AS id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    coalesce(c.in_base, false) AS in_base,
    coalesce(c.in_head, false) AS in_head,
    coalesce(c.raw_differs, false) AS candidate,
    false AS members_changed,
    CASE WHEN c.raw_differs THEN c.base_raw END AS base_raw,
    CASE WHEN c.raw_differs THEN c.head_raw END AS head_raw,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.raw_differs OR NOT c.in_base OR NOT c.in_head
