-- name: reconcile_counts
-- purpose: how many findings of each kind and severity
-- inputs: findings
-- params: none
SELECT kind, severity, count(*) AS findings
FROM findings
GROUP BY kind, severity
ORDER BY kind, severity
