-- name: reconcile_attribute_differing_pairs
-- purpose: matched user pairs whose compared-value fingerprints differ: only these can have an attribute_mismatch, so only their values are read and compared
-- inputs: user_correlation, attribute_fingerprints
-- params: none
-- attribute_fingerprints: (side, id_key = fp64(id), fingerprint). Joining on 64-bit id hashes
-- is cheaper than on id text and loses nothing: every pair still meets its own fingerprints,
-- and a colliding id can only add a pair, which the exact comparison then clears. Equal
-- normalised values give equal fingerprints; a differing pair is lost only if its two 64-bit
-- fingerprints collide.
WITH pairs AS (
    SELECT source_id, target_id, fp64(source_id) AS source_key, fp64(target_id) AS target_key
    FROM user_correlation
    WHERE NOT ambiguous
)
SELECT DISTINCT p.source_id, p.target_id
FROM pairs AS p
JOIN attribute_fingerprints AS s ON s.side = 'source' AND s.id_key = p.source_key
JOIN attribute_fingerprints AS t ON t.side = 'target' AND t.id_key = p.target_key
WHERE s.fingerprint <> t.fingerprint
