-- name: deltas_groups_compare
-- purpose: every group that was created or deleted between the base and head full exports, whose members or raw JSON differ between them, or that the delta export returned; both raw texts where they differ, for recon.content to decide whether its other attributes changed
-- inputs: base_groups, head_groups, member_changes, returned
-- params: none
-- member_changes holds the groups whose member set differs (deltas_group_member_changes), returned
-- the delta export's groups (deltas_returned). The other attributes are compared by recon.content on the raw texts that differ. The member
-- changes are looked up with IN (a mark join that hashes only the few changed group ids): a LEFT
-- JOIN let the planner build its hash table from the compared rows, raw texts and all.
WITH compared AS (
    SELECT
        coalesce(h.id, b.id) AS id,
        b.id IS NOT NULL AS in_base,
        h.id IS NOT NULL AS in_head,
        coalesce(h.display_name, b.display_name) AS name,
        b.last_modified AS base_last_modified,
        h.last_modified AS head_last_modified,
        b.id IS NOT NULL AND h.id IS NOT NULL AND b.raw IS DISTINCT FROM h.raw AS raw_differs,
        b.id IS NOT NULL AND h.id IS NOT NULL AND coalesce(h.id, b.id) IN (SELECT group_id FROM member_changes)
            AS members_changed,
        CASE WHEN b.raw IS DISTINCT FROM h.raw THEN b.raw END AS base_raw,
        CASE WHEN b.raw IS DISTINCT FROM h.raw THEN h.raw END AS head_raw
    FROM base_groups AS b
    FULL OUTER JOIN head_groups AS h ON h.id = b.id
)
SELECT
    'Group' AS resource_type,
    coalesce(c.id, r.id) AS id,
    c.name,
    c.base_last_modified,
    c.head_last_modified,
    coalesce(c.in_base, false) AS in_base,
    coalesce(c.in_head, false) AS in_head,
    coalesce(c.raw_differs OR c.members_changed, false) AS candidate,
    coalesce(c.members_changed, false) AS members_changed,
    CASE WHEN c.raw_differs THEN c.base_raw END AS base_raw,
    CASE WHEN c.raw_differs THEN c.head_raw END AS head_raw,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.raw_differs OR c.members_changed OR NOT c.in_base OR NOT c.in_head
