-- Pause, resume or scale a queue (paused: true, false or null to keep; scale: whether to
-- set local_limit, null meaning each worker's own limit), and tell every running worker
-- on the control channel (delivered at commit). Returns how many live workers serve the
-- queue.
WITH changed AS (
  INSERT INTO {{prefix}}.piiq_queues AS q (name, paused, local_limit)
  VALUES (%(queue)s, coalesce(%(paused)s::boolean, false),
          CASE WHEN %(scale)s::boolean THEN %(limit)s::integer END)
  ON CONFLICT (name) DO UPDATE SET
    paused = coalesce(%(paused)s::boolean, q.paused),
    local_limit = CASE WHEN %(scale)s::boolean THEN %(limit)s::integer ELSE q.local_limit END,
    updated_at = timezone('UTC', now())
  RETURNING name
)
SELECT pg_notify(%(channel)s::text, json_build_object('queue', name)::text),
       (SELECT count(*) FROM {{prefix}}.piiq_producers p
        WHERE p.stopped_at IS NULL AND name = ANY(p.queues)
          AND p.heartbeat_at > timezone('UTC', now()) - interval '1 minute')
FROM changed
