-- name: reconcile_member_prints
-- purpose: one system's fingerprint per user member of its matched groups (the count of those memberships and the sums of the groups' two random weights), keyed by a 64-bit hash of the member id: reconcile_membership_findings expands only the matched users whose two prints differ
-- inputs: memberships, group_weights
-- params: $side
-- $side: 'source' or 'target', the system of memberships. group_weights: (source_id, target_id,
-- w1, w2) from reconcile_group_weights; a target group takes its matched source group's
-- weights, so equal sets of matched groups give equal prints on both sides. The sums are exact
-- (128-bit), not wrapped. A member without member_type may be a user: it is printed too (its key
-- matches no user when it is a group). Each side's prints are a statement of their own, kept
-- before the comparison reads them: at 10M users one grouping alone fits in memory, two
-- groupings and the join of the pairs to them at once spilled 3.2 GB
-- (benchmarks/results/reconcile.md).
WITH group_map AS (
    SELECT CASE WHEN $side = 'source' THEN source_id ELSE target_id END AS group_id, w1, w2
    FROM group_weights
)
SELECT fp64(m.member_id) AS member_key, count(*) AS n, sum(CAST(g.w1 AS HUGEINT)) AS s1,
    sum(CAST(g.w2 AS HUGEINT)) AS s2
FROM memberships AS m
JOIN group_map AS g ON g.group_id = m.group_id
WHERE m.member_type = 'User' OR m.member_type IS NULL
GROUP BY fp64(m.member_id)
