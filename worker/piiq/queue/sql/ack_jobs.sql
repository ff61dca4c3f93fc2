-- Record the outcome of many executed jobs in one statement (acks: a JSON array).
-- Guarded by state, attempt and the leasing process (attempted_by[2], the producer
-- parameter): a job rescued, handed back or leased again meanwhile is left alone, even
-- when a lease lost in a database crash gave the new lease the same attempt number.
-- Sensitive args of jobs reaching a final state are scrubbed by the piiq_scrub_final
-- trigger.
-- The ids parameter repeats the ids so the planner looks them up by primary key instead of
-- scanning every executing row (state::text keeps the state index out of the plan).
UPDATE {{prefix}}.oban_jobs j
SET state = a.state::{{prefix}}.oban_job_state,
    completed_at = CASE WHEN a.state = 'completed' THEN timezone('UTC', now()) ELSE j.completed_at END,
    cancelled_at = CASE WHEN a.state = 'cancelled' THEN timezone('UTC', now()) ELSE j.cancelled_at END,
    discarded_at = CASE WHEN a.state = 'discarded' THEN timezone('UTC', now()) ELSE j.discarded_at END,
    scheduled_at = CASE WHEN a.state IN ('retryable', 'scheduled')
                        THEN timezone('UTC', now()) + make_interval(secs => a.delay)
                        ELSE j.scheduled_at END,
    attempt = j.attempt + a.attempt_delta,
    errors = CASE WHEN a.error IS NULL THEN j.errors ELSE j.errors || a.error END,
    meta = CASE WHEN a.meta IS NULL THEN j.meta ELSE j.meta || a.meta END
FROM jsonb_to_recordset(%(acks)s::jsonb) AS a(
  id bigint, attempt integer, state text, delay double precision, error jsonb,
  meta jsonb, attempt_delta integer)
WHERE j.id = ANY(%(ids)s::bigint[]) AND j.id = a.id AND j.state::text = 'executing' AND j.attempt = a.attempt
  AND j.attempted_by[2] = %(producer)s::text
RETURNING j.id, j.queue
