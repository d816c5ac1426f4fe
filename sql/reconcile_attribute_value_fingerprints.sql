-- name: reconcile_attribute_value_fingerprints
-- purpose: a 64-bit fingerprint per user (keyed by a 64-bit hash of its id) of all its normalised compared values (any compare list)
-- inputs: attribute_values
-- params: none
-- attribute_values: (side, id, user_name, vals, originals) from reconcile_user_attribute_values.
SELECT side, fp64(id) AS id_key, fp64(vals) AS fingerprint
FROM attribute_values
