-- Rescue orphaned executing jobs, up to the limit parameter per statement:
--  * by session (when fast_rescue): the job's process (attempted_by[2]) holds a session
--    advisory lock on its heartbeat connection while it lives; when this statement can
--    take that lock, the process's database session is gone (a kill -9, an OOM kill, a
--    lost node). The lock is only tried once the process has missed two heartbeats, so a
--    live process whose heartbeat connection dropped has time to reconnect and lock again.
--  * by heartbeat (when fast_rescue): the process stopped, or has not heartbeated for
--    heartbeat_timeout seconds (a process that lives but hangs);
--  * by age (Oban's Lifeline): attempted more than rescue_after seconds ago, unless its
--    process is a live piiq producer (a job held by a live process is never rescued);
--    rescue_after NULL turns this off.
-- SKIP LOCKED plus the state guard keep a job that is being acknowledged at this moment
-- out, and keep two passes apart. The producers CTE is materialised (it calls a volatile
-- function), and CASE tries the lock only when the cheaper tests leave the question open.
WITH producers AS (
  SELECT uuid, node,
         CASE WHEN stopped_at IS NOT NULL THEN 'stopped'
              WHEN heartbeat_at < timezone('UTC', now()) - make_interval(secs => %(heartbeat_timeout)s)
                THEN 'silent'
              WHEN session_lock
                   AND heartbeat_at < timezone('UTC', now())
                                      - make_interval(secs => 2 * heartbeat_interval + 0.5)
                   AND pg_try_advisory_xact_lock(1885956465, hashtext(uuid))  -- lock_session.sql's key
                THEN 'session'
         END AS gone,
         COALESCE(stopped_at, heartbeat_at) AS last_seen
  FROM {{prefix}}.piiq_producers
), orphans AS (
  SELECT j.id,
         CASE WHEN %(fast_rescue)s AND p.gone = 'session'
              THEN 'rescued: worker ' || p.node || ' (' || p.uuid || ') lost its database '
                   || 'session (its lock is free), last heartbeat '
                   || to_char(p.last_seen, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
              WHEN %(fast_rescue)s AND p.gone IS NOT NULL
              THEN 'rescued: worker ' || p.node || ' (' || p.uuid || ') last seen '
                   || to_char(p.last_seen, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ', no heartbeat since'
              ELSE 'rescued: executing for more than ' || %(rescue_after)s::text
                   || ' s (Lifeline)'
         END AS reason
  FROM {{prefix}}.oban_jobs j
  LEFT JOIN producers p ON p.uuid = j.attempted_by[2]
  WHERE j.state = 'executing'
    AND ((%(fast_rescue)s AND p.gone IS NOT NULL)
         OR (%(rescue_after)s::float8 IS NOT NULL
             AND (p.uuid IS NULL OR p.gone IS NOT NULL)
             AND j.attempted_at < timezone('UTC', now()) - make_interval(secs => %(rescue_after)s::float8)))
  ORDER BY j.id
  LIMIT %(limit)s
  FOR UPDATE OF j SKIP LOCKED
)
UPDATE {{prefix}}.oban_jobs j
{{include:rescue_set.sql}}
FROM orphans o
WHERE j.id = o.id AND j.state = 'executing'
RETURNING j.id, j.state::text, j.queue
