SELECT id, state::text, queue, worker, args, errors, attempt, max_attempts, inserted_at,
       scheduled_at, attempted_at, completed_at, attempted_by, discarded_at, priority, tags,
       meta, cancelled_at
FROM {{prefix}}.oban_jobs
WHERE id = %(id)s
