-- name: probe_group_sample
-- purpose: a group displayName with a letter in it (the first by id), to probe group filters
-- inputs: groups
-- params: none
SELECT display_name
FROM groups
WHERE regexp_matches(display_name, '[A-Za-z]')
ORDER BY id
LIMIT 1
