-- Oban V13 (Oban 2.20, optional): compound indexes for pruning cancelled and discarded
-- jobs by their timestamps (lib/oban/migrations/postgres/v13.ex, create_if_not_exists).

CREATE INDEX IF NOT EXISTS oban_jobs_state_cancelled_at_index
  ON {{prefix}}.oban_jobs (state, cancelled_at);

CREATE INDEX IF NOT EXISTS oban_jobs_state_discarded_at_index
  ON {{prefix}}.oban_jobs (state, discarded_at);
