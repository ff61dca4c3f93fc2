-- Oban V02 (down): back to V01.

ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT IF EXISTS queue_length;
ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT IF EXISTS worker_length;

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_scheduled_at_index;
CREATE INDEX oban_jobs_scheduled_at_index ON {{prefix}}.oban_jobs (scheduled_at);

DROP FUNCTION IF EXISTS {{prefix}}.oban_wrap_id(bigint);
