-- name: deltas_texts_where_prints_differ
-- purpose: the compare rows of deltas_users_compare / deltas_groups_compare made from a deltas_*_listed_by_prints listing: both raw texts of the resources whose prints differ (or are null) and whose texts differ, for recon.content to compare
-- inputs: listed, base_resources, head_resources
-- params: none
-- The raw texts are read only for the listed ids marked print_differs (an IN, which hashes those
-- few ids, not the exports); a resource is a candidate when those texts differ or, for a group,
-- when its members changed.
WITH base_raw AS (
    SELECT id, raw FROM base_resources WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
head_raw AS (
    SELECT id, raw FROM head_resources WHERE id IN (SELECT id FROM listed WHERE print_differs)
),
texts AS (
    SELECT b.id, b.raw AS base_raw, h.raw AS head_raw
    FROM base_raw AS b
    JOIN head_raw AS h ON h.id = b.id
    WHERE b.raw IS DISTINCT FROM h.raw
)
SELECT
    l.resource_type,
    l.id,
    l.name,
    l.base_last_modified,
    l.head_last_modified,
    l.in_base,
    l.in_head,
    t.id IS NOT NULL OR l.members_changed AS candidate,
    l.members_changed,
    t.base_raw,
    t.head_raw,
    l.returned,
    l.in_filter
FROM listed AS l
LEFT JOIN texts AS t ON t.id = l.id
