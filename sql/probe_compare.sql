-- name: probe_compare
-- purpose: a server's answer to a filter against the local answer: how many expected, returned, missing and extra, and whether the server returned every record (ignored the filter)
-- inputs: expected, returned, everyone
-- params: none
WITH expected_ids AS (SELECT DISTINCT id FROM expected),
returned_ids AS (SELECT DISTINCT id FROM returned),
everyone_ids AS (SELECT DISTINCT id FROM everyone),
pairs AS (
    SELECT e.id AS expected_id, r.id AS returned_id
    FROM expected_ids AS e
    FULL OUTER JOIN returned_ids AS r ON r.id = e.id
),
counts AS (
    SELECT
        count(expected_id) AS expected_count,
        count(returned_id) AS returned_count,
        count(CASE WHEN returned_id IS NULL THEN 1 END) AS missing_count,
        count(CASE WHEN expected_id IS NULL THEN 1 END) AS extra_count
    FROM pairs
),
coverage AS (
    SELECT
        count(*) AS everyone_count,
        count(r.id) AS everyone_returned
    FROM everyone_ids AS a
    LEFT JOIN returned_ids AS r ON r.id = a.id
)
SELECT
    c.expected_count,
    c.returned_count,
    c.missing_count,
    c.extra_count,
    v.everyone_count > 0 AND v.everyone_returned = v.everyone_count AS returned_everyone
FROM counts AS c
CROSS JOIN coverage AS v
