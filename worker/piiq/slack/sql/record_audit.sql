INSERT INTO {{prefix}}.piiq_audit
  (job_id, team, channel, ts, user_id, subject, decision, entities, action, outcome)
VALUES
  (%(job_id)s, %(team)s, %(channel)s, %(ts)s, %(user_id)s, %(subject)s, %(decision)s,
   %(entities)s, %(action)s, %(outcome)s)
ON CONFLICT (job_id, subject) DO NOTHING
