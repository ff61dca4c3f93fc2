-- Rescue orphaned executing jobs, up to the limit parameter per statement:
--  * by heartbeat (when fast_rescue): the job's process (attempted_by[2]) is a known piiq
--    producer that stopped, or stopped heartbeating more than heartbeat_timeout seconds ago;
--  * by age (Oban's Lifeline): attempted more than rescue_after seconds ago, unless its
--    process is a live piiq producer (a job held by a live process is never rescued);
--    rescue_after NULL turns this off.
-- Jobs with attempts left become available, exhausted ones discarded; each rescue appends
-- an error entry saying why and counts meta.rescued. SKIP LOCKED plus the state guard
-- keep a job that is being acknowledged at this moment out, and keep two passes apart.
WITH producers AS (
  SELECT uuid, node,
         stopped_at IS NULL
           AND heartbeat_at >= timezone('UTC', now()) - make_interval(secs => %(heartbeat_timeout)s)
           AS alive,
         COALESCE(stopped_at, heartbeat_at) AS last_seen
  FROM {{prefix}}.piiq_producers
), orphans AS (
  SELECT j.id,
         CASE WHEN %(fast_rescue)s AND p.uuid IS NOT NULL AND NOT p.alive
              THEN 'rescued: worker ' || p.node || ' (' || p.uuid || ') last seen '
                   || to_char(p.last_seen, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ', no heartbeat since'
              ELSE 'rescued: executing for more than ' || %(rescue_after)s::text
                   || ' s (Lifeline)'
         END AS reason
  FROM {{prefix}}.oban_jobs j
  LEFT JOIN producers p ON p.uuid = j.attempted_by[2]
  WHERE j.state = 'executing'
    AND ((%(fast_rescue)s AND p.uuid IS NOT NULL AND NOT p.alive)
         OR (%(rescue_after)s::float8 IS NOT NULL
             AND (p.uuid IS NULL OR NOT p.alive)
             AND j.attempted_at < timezone('UTC', now()) - make_interval(secs => %(rescue_after)s::float8)))
  ORDER BY j.id
  LIMIT %(limit)s
  FOR UPDATE OF j SKIP LOCKED
)
UPDATE {{prefix}}.oban_jobs j
SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::{{prefix}}.oban_job_state
                 ELSE 'available'::{{prefix}}.oban_job_state END,
    discarded_at = CASE WHEN j.attempt >= j.max_attempts THEN timezone('UTC', now())
                        ELSE j.discarded_at END,
    errors = j.errors || jsonb_build_object(
      'at', to_char(timezone('UTC', now()), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'attempt', j.attempt,
      'error', o.reason),
    meta = j.meta || jsonb_build_object('rescued', COALESCE((j.meta ->> 'rescued')::int, 0) + 1),
    args = CASE WHEN j.attempt >= j.max_attempts AND j.meta ? 'scrub'
                THEN {{prefix}}.piiq_scrubbed(j.args, j.meta -> 'scrub') ELSE j.args END
FROM orphans o
WHERE j.id = o.id AND j.state = 'executing'
RETURNING j.id, j.state::text, j.queue
