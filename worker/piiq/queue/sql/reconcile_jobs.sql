-- A live worker's own check: jobs executing under its producer id (attempted_by[2]) in
-- its queues that it does not hold (the keep parameter: running, or finished with the
-- outcome unwritten). They are left over from an acknowledgement that a database crash
-- rolled back (acks commit with synchronous_commit=off), and would otherwise stay
-- executing under a live worker forever: no rescue touches a live worker's jobs. They are
-- rescued like an orphan: the attempt is kept, an error entry says why.
WITH orphans AS (
  SELECT j.id,
         'rescued: executing under this live worker (' || %(producer)s::text
           || ') but not held by it: an acknowledgement lost in a database crash' AS reason
  FROM {{prefix}}.oban_jobs j
  WHERE j.state = 'executing'
    AND j.queue = ANY(%(queues)s::text[])
    AND j.attempted_by[2] = %(producer)s::text
    AND NOT (j.id = ANY(%(keep)s::bigint[]))
  ORDER BY j.id
  FOR UPDATE OF j SKIP LOCKED
)
UPDATE {{prefix}}.oban_jobs j
{{include:rescue_set.sql}}
FROM orphans o
WHERE j.id = o.id AND j.state = 'executing'
RETURNING j.id, j.state::text, j.queue
