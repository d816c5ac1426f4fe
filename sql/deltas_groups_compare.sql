-- name: deltas_groups_compare
-- purpose: every group that was created or deleted between the base and head full exports, whose members or raw JSON differ between them, or that the delta export returned; both raw texts where they differ, for recon.content to decide whether its other attributes changed
-- inputs: base_groups, head_groups, base_memberships, head_memberships, delta_groups, delta_groups_matching
-- params: none
-- Member sets are compared by a fingerprint per group: the count, and the bit_xor and the sum of
-- the 64-bit hashes of (member_id, member_type) (memberships are unique per group and member).
-- Equal sets always give equal fingerprints; a changed set is missed only if all three collide.
-- The other attributes are compared by recon.content on the raw texts that differ. The member
-- changes are looked up with IN (a mark join that hashes only the few changed group ids): a LEFT
-- JOIN let the planner build its hash table from the compared rows, raw texts and all.
WITH base_prints AS (
    SELECT group_id, count(*) AS n, bit_xor(fp64(member_id, member_type)) AS x,
        sum(CAST(fp64(member_id, member_type) AS HUGEINT)) AS s
    FROM base_memberships
    GROUP BY group_id
),
head_prints AS (
    SELECT group_id, count(*) AS n, bit_xor(fp64(member_id, member_type)) AS x,
        sum(CAST(fp64(member_id, member_type) AS HUGEINT)) AS s
    FROM head_memberships
    GROUP BY group_id
),
member_changes AS (
    SELECT coalesce(h.group_id, b.group_id) AS group_id
    FROM base_prints AS b
    FULL OUTER JOIN head_prints AS h ON h.group_id = b.group_id
    WHERE b.n IS DISTINCT FROM h.n OR b.x IS DISTINCT FROM h.x OR b.s IS DISTINCT FROM h.s
),
compared AS (
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
),
returned AS (
    SELECT d.id, m.id IS NOT NULL AS in_filter
    FROM delta_groups AS d
    LEFT JOIN delta_groups_matching AS m ON m.id = d.id
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
