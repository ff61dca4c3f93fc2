-- A worker process announces itself; heartbeat_at then moves on every heartbeat.
-- session_lock: it holds lock_session.sql's lock; heartbeat_interval says how soon a
-- missed heartbeat means something.
INSERT INTO {{prefix}}.piiq_producers (uuid, node, pid, queues, session_lock, heartbeat_interval)
VALUES (%(uuid)s, %(node)s, %(pid)s, %(queues)s::text[], true, %(heartbeat_interval)s)
ON CONFLICT (uuid) DO UPDATE SET heartbeat_at = timezone('UTC', now()), stopped_at = NULL,
  session_lock = true, heartbeat_interval = EXCLUDED.heartbeat_interval
