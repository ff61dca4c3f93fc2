-- Oban's insert notification, once per queue.
SELECT pg_notify(%(channel)s::text, json_build_object('queue', q)::text)
FROM unnest(%(queues)s::text[]) AS q
