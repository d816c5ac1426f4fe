-- name: reconcile_correlation_stats
-- purpose: per match rule, how many pairs it matched and how many ambiguous candidate pairs it found
-- inputs: correlation
-- params: none
SELECT
    rule,
    count(*) FILTER (WHERE NOT ambiguous) AS matched,
    count(*) FILTER (WHERE ambiguous) AS ambiguous_pairs
FROM correlation
GROUP BY rule
ORDER BY rule
