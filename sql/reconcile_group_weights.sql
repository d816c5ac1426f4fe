-- name: reconcile_group_weights
-- purpose: each matched group (1:1, not ambiguous) with two random 64-bit weights drawn for this run: a user's membership print (reconcile_member_prints) sums the weights of its matched groups
-- inputs: group_correlation, random_weights
-- params: none
-- random_weights: (position, w1, w2) for positions 1..n, n the number of matched groups (the
-- groups' correlation stats), w1 and w2 drawn independently and uniformly from the 64-bit
-- integers when the run starts. A matched group takes the weights at its position in source id
-- order. Every matched group gives one row, with NULL weights where none was drawn for its
-- position: reconcile checks that the rows are as many as the weights it drew, so too few
-- drawn fails the run rather than leave groups out of both prints alike. Drawn per run, the weights are unknown to whoever wrote the
-- exports, so no data can be made to give two different sets of groups the same print
-- (docs/commands/reconcile.md, "What a fingerprint proves").
WITH matched AS (
    SELECT source_id, target_id, row_number() OVER (ORDER BY source_id) AS position
    FROM group_correlation
    WHERE NOT ambiguous
)
SELECT m.source_id, m.target_id, r.w1, r.w2
FROM matched AS m
LEFT JOIN random_weights AS r ON r.position = m.position
