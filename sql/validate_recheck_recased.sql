-- name: validate_recheck_recased
-- purpose: the resources read again whose names must be respelled as declared before their values are read
-- inputs: again
-- params: none
SELECT resource_type, id, raw
FROM again
WHERE recase
