-- The exported columns of the given audit rows (never text, never values: the table has none).
SELECT id, recorded_at, job_id, team, channel, ts, user_id, subject, decision, entities,
       action, outcome
FROM {{prefix}}.piiq_audit WHERE id = ANY(%(ids)s) ORDER BY id
