-- The SET list of a rescue (included by rescue_jobs.sql and reconcile_jobs.sql, each with
-- an orphans relation o(id, reason)): jobs with attempts left become available, exhausted
-- ones discarded; the attempt is kept (the orphaned run used it), an error entry says
-- why and meta.rescued counts. Sensitive args of discarded jobs are scrubbed by the
-- piiq_scrub_final trigger.
SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::{{prefix}}.oban_job_state
                 ELSE 'available'::{{prefix}}.oban_job_state END,
    discarded_at = CASE WHEN j.attempt >= j.max_attempts THEN timezone('UTC', now())
                        ELSE j.discarded_at END,
    errors = j.errors || jsonb_build_object(
      'at', to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'attempt', j.attempt,
      'error', o.reason),
    meta = j.meta || jsonb_build_object('rescued', COALESCE((j.meta ->> 'rescued')::int, 0) + 1)
