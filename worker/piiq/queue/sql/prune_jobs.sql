-- Delete one batch of finished jobs of one state, aged by that state's own timestamp.
-- The state parameter is one of completed, cancelled, discarded; the stamp column
-- placeholder is filled in by the caller from a fixed table. Never touches unfinished jobs.
WITH doomed AS (
  SELECT id FROM {{prefix}}.oban_jobs
  WHERE state = %(state)s::{{prefix}}.oban_job_state
    AND {{stamp}} < timezone('UTC', now()) - make_interval(secs => %(max_age)s)
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
)
DELETE FROM {{prefix}}.oban_jobs j
WHERE j.id = ANY(ARRAY(SELECT id FROM doomed))  -- primary-key lookups, not a hash of the index
  AND j.state = %(state)s::{{prefix}}.oban_job_state
RETURNING j.id
