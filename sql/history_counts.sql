-- name: history_counts
-- purpose: findings per system pair, cycle, kind and severity (only combinations that occur)
-- inputs: aged_findings
-- params: none
SELECT source, target, cycle, cycle_index, kind, severity, count(*) AS findings
FROM aged_findings
GROUP BY source, target, cycle, cycle_index, kind, severity
ORDER BY source, target, cycle_index, kind, severity
