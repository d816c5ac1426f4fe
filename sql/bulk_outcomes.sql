-- name: bulk_outcomes
-- purpose: per bulk operation, whether its effect is visible in the target export taken after the run, and its outcome
-- inputs: bulk_ops, bulk_located, bulk_expectations, target_users, target_groups, target_memberships
-- params: none
--
-- bulk_ops: one row per operation (seq, label, op_index, bulk_id, method, path, resource_type,
--   resource_id, lookup_attribute, lookup_value, lookup_case_exact, version, reported, status,
--   location, response_version, scim_type, detail, note); reported is ok | error | not_attempted | unconfirmed.
-- bulk_located: (seq, resource_type, effective_id) of sql/bulk_located.sql: the target resource
--   each operation acted on (null when a POST without a created id cannot be located).
-- bulk_expectations: checks of each operation's effect (seq, check_no, check_kind, attribute,
--   expected, member_id, value_met, actual); check_no numbers an operation's checks from 1 (one
--   row each); check_kind is exists | absent | value | member | not_member. A value check is
--   decided in Python by recon.content on the resource's raw JSON (value_met, and actual: the
--   value it shows); null value_met: the resource was not there.
-- visible is null when an operation has nothing checkable.
WITH located AS (
    SELECT seq, resource_type, effective_id FROM bulk_located
),
target_ids AS (
    SELECT 'User' AS resource_type, u.id
    FROM target_users AS u
    SEMI JOIN located AS l ON l.resource_type = 'User' AND l.effective_id = u.id
    UNION ALL
    SELECT 'Group' AS resource_type, g.id
    FROM target_groups AS g
    SEMI JOIN located AS l ON l.resource_type = 'Group' AND l.effective_id = g.id
),
-- only the memberships a check asks about: the groups patched hold millions of members at 1M
-- users, their checks name 500,000 (a membership check is made only of a Group operation); kept
-- with repeats: a SEMI JOIN keeps each membership row once however often its pair is asked about
-- (a DISTINCT here cost 0.06 CPU s at 1M users)
member_checks AS (
    SELECT l.effective_id AS group_id, e.member_id
    FROM bulk_expectations AS e
    JOIN located AS l ON l.seq = e.seq
    WHERE e.check_kind IN ('member', 'not_member') AND l.resource_type = 'Group'
),
memberships AS (
    SELECT DISTINCT m.group_id, m.member_id
    FROM target_memberships AS m
    SEMI JOIN member_checks AS c ON c.group_id = m.group_id AND c.member_id = m.member_id
    -- the same rows (member_checks names only located groups): a one-key filter first drops the
    -- memberships of the groups no operation touched before the two-key join (0.78 -> 0.72 CPU s)
    WHERE m.group_id IN (SELECT l.effective_id FROM located AS l WHERE l.resource_type = 'Group')
),
checked AS (
    SELECT
        e.seq,
        e.check_no,
        e.check_kind,
        e.attribute,
        e.expected,
        e.member_id,
        e.actual,
        coalesce(CASE e.check_kind
            WHEN 'exists' THEN t.id IS NOT NULL
            WHEN 'absent' THEN t.id IS NULL
            WHEN 'value' THEN t.id IS NOT NULL AND e.value_met
            WHEN 'member' THEN m.group_id IS NOT NULL
            WHEN 'not_member' THEN m.group_id IS NULL
        END, false) AS met
    FROM bulk_expectations AS e
    JOIN located AS l ON l.seq = e.seq
    LEFT JOIN target_ids AS t
        ON t.resource_type = l.resource_type AND t.id = l.effective_id
    LEFT JOIN memberships AS m
        ON e.check_kind IN ('member', 'not_member')
        AND m.group_id = l.effective_id
        AND m.member_id = e.member_id
),
-- each operation's first unmet check (its number is unique within the operation) taken by
-- arg_min in the aggregate: joined back to `checked` by number, the 1.3M checks of a 1M-user run
-- were kept as a table to be read twice
verdict AS (
    SELECT
        seq,
        count(*) AS checks,
        count(*) FILTER (WHERE met) AS checks_met,
        arg_min(
            {'check_kind': check_kind, 'attribute': attribute, 'expected': expected, 'member_id': member_id,
             'actual': actual},
            check_no
        ) FILTER (WHERE NOT met) AS first_unmet
    FROM checked
    GROUP BY seq
),
judged AS (
    SELECT
        o.seq,
        l.effective_id,
        v.checks,
        v.checks_met,
        CASE WHEN v.checks IS NULL THEN NULL ELSE v.checks_met = v.checks END AS visible,
        CASE v.first_unmet.check_kind
            WHEN 'exists' THEN 'not in the export'
            WHEN 'absent' THEN 'still in the export'
            WHEN 'value' THEN v.first_unmet.attribute || ' is '
                || coalesce('''' || v.first_unmet.actual || '''', 'unassigned')
                || ', expected ' || coalesce('''' || v.first_unmet.expected || '''', 'unassigned')
            WHEN 'member' THEN 'member ' || v.first_unmet.member_id || ' is not in the group'
            WHEN 'not_member' THEN 'member ' || v.first_unmet.member_id || ' is still in the group'
        END AS unmet
    FROM bulk_ops AS o
    JOIN located AS l ON l.seq = o.seq
    LEFT JOIN verdict AS v ON v.seq = o.seq
)
SELECT
    o.seq,
    o.label,
    o.op_index,
    o.bulk_id,
    o.method,
    o.path,
    o.resource_type,
    j.effective_id AS resource_id,
    o.version,
    o.status,
    o.location,
    o.response_version,
    o.scim_type,
    o.detail,
    CASE
        WHEN o.reported = 'ok' AND j.visible THEN 'applied'
        WHEN o.reported = 'ok' AND NOT j.visible THEN 'reported_ok_not_applied'
        WHEN o.reported = 'ok' THEN 'unverified'
        WHEN o.reported = 'error' AND j.visible THEN 'failed_but_applied'
        WHEN o.reported = 'error' THEN 'failed'
        WHEN o.reported = 'not_attempted' THEN 'not_attempted'
        ELSE 'unconfirmed'
    END AS outcome,
    j.visible,
    coalesce(j.checks, 0) AS checks,
    coalesce(j.checks_met, 0) AS checks_met,
    j.unmet,
    o.note
FROM bulk_ops AS o
JOIN judged AS j ON j.seq = o.seq
ORDER BY o.seq
