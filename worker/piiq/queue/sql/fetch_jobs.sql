-- Write the outcomes of finished jobs (the acks parameter, possibly empty) and lease up to
-- the demanded number of available jobs of one queue, in one statement: one round trip
-- per cycle.
-- With a global limit (global_limit not null), lock_queue.sql ran first in the same
-- transaction: this queue's fetches run one at a time, and this statement's snapshot,
-- taken after the lock, sees every lease committed before it. It leases at most
-- global_limit minus the queue's executing jobs, counting those acked just above as
-- finished (the acked CTE's changes are not visible to the count).
-- The subset CTE is an optimisation fence: it locks exactly the rows the UPDATE changes,
-- so attempt never passes max_attempts.
-- Every row ends with allowed: how many jobs the global limit let this fetch take (the
-- demand without one). A fetch that leases nothing returns one row of nulls and allowed.
WITH acked AS (
{{include:ack_jobs.sql}}
), allowed AS (
  SELECT CASE WHEN %(global_limit)s::integer IS NULL THEN %(demand)s::integer
    ELSE greatest(0, least(%(demand)s::integer, %(global_limit)s::integer
      - (SELECT count(*) FROM {{prefix}}.oban_jobs
         WHERE state = 'executing' AND queue = %(queue)s)::integer
      + (SELECT count(*) FROM acked WHERE acked.queue = %(queue)s)::integer))
    END AS n
), subset AS (
  SELECT id FROM {{prefix}}.oban_jobs
  WHERE state = 'available' AND queue = %(queue)s
  ORDER BY priority, scheduled_at, id
  LIMIT (SELECT n FROM allowed)
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
SELECT leased.*, allowed.n FROM allowed LEFT JOIN leased ON true
