COPY {{prefix}}.oban_jobs
  (id, state, queue, worker, args, meta, tags, max_attempts, priority, scheduled_at)
FROM STDIN
