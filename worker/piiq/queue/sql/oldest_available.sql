-- Seconds the oldest available job of each queue has waited since it became runnable
-- (scheduled_at: its insert, or when a snooze or a retry's backoff ran out).
SELECT queue, greatest(extract(epoch FROM timezone('UTC', now()) - min(scheduled_at)), 0)::float8
FROM {{prefix}}.oban_jobs
WHERE state = 'available'
GROUP BY queue
ORDER BY queue
