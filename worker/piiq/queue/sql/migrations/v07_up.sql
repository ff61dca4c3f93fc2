-- Oban V07 (up): partial index for pruning finished jobs.

CREATE INDEX IF NOT EXISTS oban_jobs_attempted_at_id_index
  ON {{prefix}}.oban_jobs (attempted_at DESC, id)
  WHERE state IN ('completed', 'discarded');
