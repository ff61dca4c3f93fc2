-- A worker process announces itself; heartbeat_at then moves on every heartbeat.
INSERT INTO {{prefix}}.piiq_producers (uuid, node, pid, queues)
VALUES (%(uuid)s, %(node)s, %(pid)s, %(queues)s::text[])
ON CONFLICT (uuid) DO UPDATE SET heartbeat_at = timezone('UTC', now()), stopped_at = NULL
