-- name: extract_fetched_ids
-- purpose: per resource type, how many resources a live crawl fetched and how many distinct ids they had
-- inputs: fetched_ids
-- params: none
SELECT resource, count(*) AS fetched, count(DISTINCT id) AS unique_ids
FROM fetched_ids
GROUP BY resource
ORDER BY resource
