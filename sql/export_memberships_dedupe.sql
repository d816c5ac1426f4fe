-- name: export_memberships_dedupe
-- purpose: memberships of the kept copy of each group, one row per (group, member), ordered
-- inputs: received_groups, received_memberships
-- params: none
WITH kept_groups AS (
    SELECT id, min(_seq) AS _seq
    FROM received_groups
    GROUP BY id
)
SELECT m.group_id, m.member_id, m.member_type
FROM received_memberships AS m
JOIN kept_groups AS g ON g.id = m.group_id AND g._seq = m._group_seq
QUALIFY row_number() OVER (PARTITION BY m.group_id, m.member_id ORDER BY m._seq) = 1
ORDER BY m.group_id, m.member_id
