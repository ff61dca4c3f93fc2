-- Oban V10 (up): args default '{}', priority NOT NULL, sanity checks
-- (priority_range 0..3, positive_max_attempts, attempt_range), drop unused indexes,
-- GIN indexes on args and meta for unique-job lookups.
--
-- Note: rows inserted before V08 have NULL priority; as in Oban, SET NOT NULL then
-- fails until they are given a priority.

ALTER TABLE {{prefix}}.oban_jobs
  ALTER COLUMN args SET DEFAULT '{}'::jsonb,
  ALTER COLUMN priority SET NOT NULL;

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT priority_range CHECK (priority BETWEEN 0 AND 3);

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT positive_max_attempts CHECK (max_attempts > 0);

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT attempt_range CHECK (attempt BETWEEN 0 AND max_attempts);

-- Unused or unnecessary (the first two only exist on some very old installs)
DROP INDEX IF EXISTS {{prefix}}.oban_jobs_args_vector;
DROP INDEX IF EXISTS {{prefix}}.oban_jobs_worker_gist;
DROP INDEX IF EXISTS {{prefix}}.oban_jobs_attempted_at_id_index;

CREATE INDEX IF NOT EXISTS oban_jobs_args_index ON {{prefix}}.oban_jobs USING gin (args);
CREATE INDEX IF NOT EXISTS oban_jobs_meta_index ON {{prefix}}.oban_jobs USING gin (meta);
