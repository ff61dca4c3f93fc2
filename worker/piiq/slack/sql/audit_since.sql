-- `piiq audit export`: the rows written (or rewritten) since a time, oldest first.
SELECT id, recorded_at, job_id, team, channel, ts, user_id, subject, decision, entities,
       action, outcome
FROM {{prefix}}.piiq_audit WHERE recorded_at >= %(since)s ORDER BY id
