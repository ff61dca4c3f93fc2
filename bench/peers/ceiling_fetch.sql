-- The raw ceiling's lease: the textbook FOR UPDATE SKIP LOCKED statement on Oban's table,
-- returning the same columns piiq's fetch_jobs.sql returns (so the database does the same
-- work and psycopg decodes the same rows); no acks ride along, no global limit.
WITH subset AS (
  SELECT id FROM oban_jobs
  WHERE state = 'available' AND queue = %(queue)s
  ORDER BY priority, scheduled_at, id
  LIMIT %(demand)s
  FOR UPDATE SKIP LOCKED
)
UPDATE oban_jobs j
SET state = 'executing',
    attempt = j.attempt + 1,
    attempted_at = timezone('UTC', now()),
    attempted_by = %(attempted_by)s::text[]
FROM subset
WHERE j.id = subset.id
RETURNING j.id, j.state::text, j.queue, j.worker, j.args, j.errors, j.attempt,
          j.max_attempts, j.inserted_at, j.scheduled_at, j.attempted_at, j.completed_at,
          j.attempted_by, j.discarded_at, j.priority, j.tags, j.meta, j.cancelled_at
