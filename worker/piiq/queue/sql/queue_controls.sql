-- The runtime state of queues (all of them when queues is null).
SELECT name, paused, local_limit FROM {{prefix}}.piiq_queues
WHERE %(queues)s::text[] IS NULL OR name = ANY(%(queues)s::text[])
ORDER BY name
