-- Insert many jobs in one statement. The jobs parameter is a JSON array of job tuples:
-- [state, queue, worker, args, meta, tags, max_attempts, priority, scheduled_at].
-- (Positional arrays parse several times faster than objects in jsonb_to_recordset.)
-- Unique jobs that conflict with a live row are skipped; the caller then reads the
-- existing rows. One pg_notify per queue that received available jobs, when
-- the channel parameter is not null; PostgreSQL folds identical notifications of a
-- transaction.
WITH input AS (
  SELECT e, ord FROM jsonb_array_elements(%(jobs)s::jsonb) WITH ORDINALITY AS i(e, ord)
), inserted AS (
  INSERT INTO {{prefix}}.oban_jobs
    (state, queue, worker, args, meta, tags, max_attempts, priority, scheduled_at)
  SELECT (e->>0)::{{prefix}}.oban_job_state, e->>1, e->>2, e->3, e->4,
         CASE WHEN jsonb_array_length(e->5) = 0 THEN '{}'
              ELSE ARRAY(SELECT jsonb_array_elements_text(e->5)) END,
         (e->>6)::integer, (e->>7)::integer,
         COALESCE((e->>8)::timestamp, timezone('UTC', now()))
  FROM input ORDER BY ord
  ON CONFLICT ((meta->>'uniq_key'))
    WHERE meta ? 'uniq_key' AND {{prefix}}.piiq_unique_state(meta->>'uniq_states', state)
    DO NOTHING
  RETURNING id, state, queue, inserted_at, scheduled_at, meta->>'uniq_key' AS uniq_key
), notified AS (
  SELECT pg_notify(%(channel)s::text, json_build_object('queue', queue)::text)
  FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'available') q
  WHERE %(channel)s::text IS NOT NULL
)
SELECT id, state::text, inserted_at, scheduled_at, uniq_key
FROM inserted
WHERE (SELECT count(*) FROM notified) >= 0
