-- Make due scheduled and retryable jobs available, and wake the queues that got work.
WITH due AS (
  SELECT id FROM {{prefix}}.oban_jobs
  WHERE state IN ('scheduled', 'retryable') AND scheduled_at <= timezone('UTC', now())
  ORDER BY scheduled_at, id
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
), staged AS (
  UPDATE {{prefix}}.oban_jobs j SET state = 'available'
  FROM due WHERE j.id = due.id
  RETURNING j.queue
), counts AS (
  SELECT queue, count(*) AS staged FROM staged GROUP BY queue
), notified AS (
  SELECT pg_notify(%(channel)s::text, json_build_object('queue', queue)::text)
  FROM counts WHERE %(channel)s::text IS NOT NULL
)
SELECT queue, staged FROM counts WHERE (SELECT count(*) FROM notified) >= 0
