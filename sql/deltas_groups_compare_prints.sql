-- name: deltas_groups_compare_prints
-- purpose: deltas_groups_compare for exports that both carry content_sha256: the same rows, with both raw texts only of the groups whose content prints differ (or are null)
-- inputs: base_groups, head_groups, member_changes, returned
-- params: none
-- Members are compared through member_changes (deltas_group_member_changes); every other attribute by
-- the groups' content prints (recon.fingerprint: without meta and members), joined narrow on id.
-- The raw texts, which list every member, are read back only for the ids whose prints differ or
-- are null, for recon.content to compare.
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
        coalesce(c.members_changed, false) AS members_changed,
        r.id IS NOT NULL AS returned,
        coalesce(r.in_filter, false) AS in_filter
    FROM compared AS c
    FULL OUTER JOIN returned AS r ON r.id = c.id
    WHERE r.id IS NOT NULL OR c.print_differs OR c.members_changed OR NOT c.in_base OR NOT c.in_head
),
base_raw AS (
    SELECT id, raw FROM base_groups WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
head_raw AS (
    SELECT id, raw FROM head_groups WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
texts AS (
    SELECT b.id, b.raw AS base_raw, h.raw AS head_raw
    FROM base_raw AS b
    JOIN head_raw AS h ON h.id = b.id
    WHERE b.raw IS DISTINCT FROM h.raw
)
SELECT
    'Group' AS resource_type,
    l.id,
    l.name,
    l.base_last_modified,
    l.head_last_modified,
    l.in_base,
    l.in_head,
    t.id IS NOT NULL OR l.members_changed AS candidate,
    l.members_changed,
    t.base_raw,
    t.head_raw,
    l.returned,
    l.in_filter
FROM listed AS l
LEFT JOIN texts AS t ON t.id = l.id
