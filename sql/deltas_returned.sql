-- name: deltas_returned
-- purpose: the resources the delta export returned, each with whether it satisfies the filter that was sent
-- inputs: delta_resources, delta_resources_matching
-- params: none
-- One statement for users and groups, and for both ways of comparing the full exports
-- (deltas_*_compare and deltas_*_compare_prints read its rows as their input `returned`).
SELECT d.id, m.id IS NOT NULL AS in_filter
FROM delta_resources AS d
LEFT JOIN delta_resources_matching AS m ON m.id = d.id
