-- name: deltas_groups_listed_by_prints
-- purpose: for exports that both carry content_sha256, the groups deltas_groups_compare would list (created, deleted, returned by the delta export, with changed members or differing content prints) without their raw texts, each marked print_differs where the prints differ or are null
-- inputs: base_groups, head_groups, member_changes, returned
-- params: none
-- Members are compared through member_changes (deltas_group_member_changes); every other attribute by
-- the groups' content prints (recon.fingerprint: without meta and members), joined narrow on id.
-- The raw texts, which list every member, are read back by deltas_texts_where_prints_differ only
-- for the rows marked print_differs.
WITH compared AS (
    SELECT
        coalesce(h.id, b.id) AS id,
        b.id IS NOT NULL AS in_base,
        h.id IS NOT NULL AS in_head,
        coalesce(h.display_name, b.display_name) AS name,
        b.last_modified AS base_last_modified,
        h.last_modified AS head_last_modified,
        b.id IS NOT NULL AND h.id IS NOT NULL
            AND (b.content_sha256 IS NULL OR h.content_sha256 IS NULL OR b.content_sha256 <> h.content_sha256)
            AS print_differs,
        b.id IS NOT NULL AND h.id IS NOT NULL AND coalesce(h.id, b.id) IN (SELECT group_id FROM member_changes)
            AS members_changed
    FROM (SELECT id, display_name, last_modified, content_sha256 FROM base_groups) AS b
    FULL OUTER JOIN (SELECT id, display_name, last_modified, content_sha256 FROM head_groups) AS h
        ON h.id = b.id
)
SELECT
    'Group' AS resource_type,
    coalesce(c.id, r.id) AS id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    coalesce(c.in_base, false) AS in_base,
    coalesce(c.in_head, false) AS in_head,
    coalesce(c.print_differs, false) AS print_differs,
    coalesce(c.members_changed, false) AS members_changed,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.print_differs OR c.members_changed OR NOT c.in_base OR NOT c.in_head
