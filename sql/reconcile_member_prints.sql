-- name: reconcile_member_prints
-- purpose: one system's fingerprint per user member of its matched groups (count, bit_xor and sum of 64-bit hashes of the source group ids), keyed by a 64-bit hash of the member id: reconcile_membership_findings expands only the matched users whose two prints differ
-- inputs: memberships, group_correlation
-- params: $side
-- $side: 'source' or 'target', the system of memberships. A target group is named by its
-- matched source group's id, so equal sets of matched groups give equal prints on both sides.
-- A member without member_type may be a user: it is printed too (its key matches no user when it
-- is a group). Each side's prints are a statement of their own, kept before the comparison
-- reads them: at 10M users one grouping alone fits in memory, two groupings and the join of the
-- pairs to them at once spilled 3.2 GB (benchmarks/results/reconcile.md).
WITH group_map AS (
    SELECT CASE WHEN $side = 'source' THEN source_id ELSE target_id END AS group_id,
        fp64(source_id) AS group_key
    FROM group_correlation
    WHERE NOT ambiguous
)
SELECT fp64(m.member_id) AS member_key, count(*) AS n, bit_xor(g.group_key) AS x,
    sum(CAST(g.group_key AS HUGEINT)) AS s
FROM memberships AS m
JOIN group_map AS g ON g.group_id = m.group_id
WHERE m.member_type = 'User' OR m.member_type IS NULL
GROUP BY fp64(m.member_id)
