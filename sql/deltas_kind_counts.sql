-- name: deltas_kind_counts
-- purpose: number of delta findings of each kind
-- inputs: delta_findings
-- params: none
SELECT kind, count(*) AS findings
FROM delta_findings
GROUP BY kind
ORDER BY kind
