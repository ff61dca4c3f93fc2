-- One item per job: a retried attempt gets the row its first attempt made.
INSERT INTO {{prefix}}.piiq_review_items
  (job_id, team, channel, ts, thread_ts, user_id, action, entities, value_hashes, content,
   file_bytes, keep_until, state)
VALUES
  (%(job_id)s, %(team)s, %(channel)s, %(ts)s, %(thread_ts)s, %(user_id)s, %(action)s,
   %(entities)s, %(value_hashes)s, %(content)s, %(file_bytes)s,
   CASE WHEN %(content)s::jsonb IS NULL THEN NULL
        ELSE timezone('UTC', now()) + make_interval(secs => %(keep_seconds)s) END,
   CASE WHEN %(content)s::jsonb IS NULL THEN 'open' ELSE 'held' END)
ON CONFLICT (job_id) DO UPDATE SET job_id = EXCLUDED.job_id
RETURNING id
