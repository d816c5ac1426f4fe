-- name: reconcile_membership_differing_users
-- purpose: the matched user pairs whose per-member prints differ: only their memberships can differ, so only they are expanded into memberships by reconcile_membership_findings
-- inputs: user_correlation, source_member_prints, target_member_prints
-- params: none
-- source_member_prints, target_member_prints: (member_key = fp64(member id), n, s1, s2) from
-- reconcile_member_prints of each side; a user absent from one side's prints has no membership
-- of a matched group there. Equal sets of matched groups give equal prints. Two different sets
-- give equal prints only if both sums of this run's random weights agree: for one user, a
-- chance of at most 2^-128 whatever the data, as the weights are drawn after it was written. A
-- member id whose hash equals a user's adds its groups to that user's print, which makes it
-- differ unless those groups are exactly the ones the user lacks on that side. A statement of
-- its own: at 10M users the two prints' hash tables are freed before the second pass over the
-- memberships.
WITH user_keys AS (
    SELECT fp64(source_id) AS source_key, fp64(target_id) AS target_key
    FROM user_correlation
    WHERE NOT ambiguous
),
differing_keys AS (
    SELECT u.source_key, u.target_key
    FROM user_keys AS u
    LEFT JOIN source_member_prints AS sp ON sp.member_key = u.source_key
    LEFT JOIN target_member_prints AS tp ON tp.member_key = u.target_key
    WHERE sp.n IS DISTINCT FROM tp.n OR sp.s1 IS DISTINCT FROM tp.s1 OR sp.s2 IS DISTINCT FROM tp.s2
)
SELECT c.source_id, c.target_id
FROM user_correlation AS c
SEMI JOIN differing_keys AS d ON d.source_key = fp64(c.source_id) AND d.target_key = fp64(c.target_id)
WHERE NOT c.ambiguous
