-- name: deltas_group_member_changes
-- purpose: the ids of the groups whose member set differs between the base and head full exports (a group on one side only included)
-- inputs: base_memberships, head_memberships
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
)
SELECT coalesce(h.group_id, b.group_id) AS group_id
FROM base_prints AS b
FULL OUTER JOIN head_prints AS h ON h.group_id = b.group_id
WHERE b.n IS DISTINCT FROM h.n OR b.x IS DISTINCT FROM h.x OR b.s IS DISTINCT FROM h.s
