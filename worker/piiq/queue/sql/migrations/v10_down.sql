-- Oban V10 (down): back to V09.
--
-- Oban's own V10 down only restores the column settings and drops the checks. We also
-- drop the two GIN indexes and re-create V07's pruning index, so that the result
-- really is the V09 schema.

ALTER TABLE {{prefix}}.oban_jobs
  ALTER COLUMN args DROP DEFAULT,
  ALTER COLUMN priority DROP NOT NULL;

ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT IF EXISTS attempt_range;
ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT IF EXISTS positive_max_attempts;
ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT IF EXISTS priority_range;

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_args_index;
DROP INDEX IF EXISTS {{prefix}}.oban_jobs_meta_index;

CREATE INDEX IF NOT EXISTS oban_jobs_attempted_at_id_index
  ON {{prefix}}.oban_jobs (attempted_at DESC, id)
  WHERE state IN ('completed', 'discarded');
