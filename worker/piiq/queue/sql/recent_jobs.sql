-- The newest jobs, as the seed's monitoring query shows them, with optional filters.
SELECT id, state::text, queue, worker, args, errors, attempt, max_attempts, inserted_at,
       scheduled_at, attempted_at, completed_at, attempted_by, discarded_at, priority, tags,
       meta, cancelled_at
FROM {{prefix}}.oban_jobs
WHERE (%(state)s::text IS NULL OR state::text = %(state)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(worker)s::text IS NULL OR worker = %(worker)s::text)
ORDER BY inserted_at DESC, id DESC
LIMIT %(limit)s
