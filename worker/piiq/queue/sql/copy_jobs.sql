-- inserted_at and scheduled_at take their defaults: the transaction's time, the same
-- as reserve_ids.sql read. Scheduled jobs go through copy_scheduled_jobs.sql.
COPY {{prefix}}.oban_jobs (id, state, queue, worker, args, meta, tags, max_attempts, priority)
FROM STDIN
