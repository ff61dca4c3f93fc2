-- One row per job and subject: a retry that gets further rewrites what was done; an
-- attempt that lost its lease (replace false) writes only when no other attempt has.
INSERT INTO {{prefix}}.piiq_audit
  (job_id, team, channel, ts, user_id, subject, decision, entities, action, outcome)
VALUES
  (%(job_id)s, %(team)s, %(channel)s, %(ts)s, %(user_id)s, %(subject)s, %(decision)s,
   %(entities)s, %(action)s, %(outcome)s)
ON CONFLICT (job_id, subject) DO UPDATE
SET action = EXCLUDED.action, outcome = EXCLUDED.outcome, recorded_at = EXCLUDED.recorded_at
WHERE %(replace)s
RETURNING id, recorded_at
