-- name: deltas_groups_classify
-- purpose: every group that changed (attributes or members), was created or deleted between the base and head full exports, or that the delta export returned
-- inputs: base_groups, head_groups, base_memberships, head_memberships, delta_groups, delta_groups_matching
-- params: none
-- Member sets are compared by a fingerprint per group: the count, and the bit_xor and the sum of
-- the 64-bit hashes of (member_id, member_type) (memberships are unique per group and member).
-- Equal sets always give equal fingerprints; a changed set is missed only if all three collide.
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
        b.id IS NOT NULL AND h.id IS NOT NULL AND (
            b.external_id IS DISTINCT FROM h.external_id
            OR b.display_name IS DISTINCT FROM h.display_name
            OR mc.group_id IS NOT NULL
        ) AS changed
    FROM base_groups AS b
    FULL OUTER JOIN head_groups AS h ON h.id = b.id
    LEFT JOIN member_changes AS mc ON mc.group_id = coalesce(h.id, b.id)
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
    coalesce(c.changed, false) AS changed,
    r.id IS NOT NULL AS returned,
    coalesce(r.in_filter, false) AS in_filter
FROM compared AS c
FULL OUTER JOIN returned AS r ON r.id = c.id
WHERE r.id IS NOT NULL OR c.changed OR NOT c.in_base OR NOT c.in_head
