-- Write the outcomes of finished jobs (the acks parameter, possibly empty) and lease up to
-- the demanded number of available jobs of one queue, in one statement: one round trip
-- per cycle.
-- The subset CTE is an optimisation fence: it locks exactly the rows the UPDATE changes,
-- so attempt never passes max_attempts.
WITH acked AS (
{{include:ack_jobs.sql}}
), subset AS (
  SELECT id FROM {{prefix}}.oban_jobs
  WHERE state = 'available' AND queue = %(queue)s
  ORDER BY priority, scheduled_at, id
  LIMIT %(demand)s
  FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE {{prefix}}.oban_jobs j
  SET state = 'executing',
      attempt = j.attempt + 1,
      attempted_at = timezone('UTC', now()),
      attempted_by = %(attempted_by)s::text[]
  FROM subset
  WHERE j.id = subset.id AND j.attempt < j.max_attempts
  RETURNING j.id, j.state::text, j.queue, j.worker, j.args, j.errors, j.attempt,
            j.max_attempts, j.inserted_at, j.scheduled_at, j.attempted_at, j.completed_at,
            j.attempted_by, j.discarded_at, j.priority, j.tags, j.meta, j.cancelled_at
)
SELECT * FROM leased
