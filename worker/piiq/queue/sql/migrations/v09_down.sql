-- Oban V09 (down): back to V08. Cancelled jobs become 'discarded', then the enum is
-- rebuilt without 'cancelled' (PostgreSQL cannot drop an enum label). The state
-- column is re-added, so it moves to the end of the table, as with Oban.
--
-- Rebuilding the column drops every index on "state"; Oban's own down does not put
-- them back. We re-create the two V08 indexes that use it (the fetch index and V07's
-- partial pruning index) so the result really is the V08 schema.

ALTER TABLE {{prefix}}.oban_jobs
  DROP COLUMN IF EXISTS meta,
  DROP COLUMN IF EXISTS cancelled_at;

DO $$
BEGIN
  UPDATE {{prefix}}.oban_jobs SET state = 'discarded' WHERE state = 'cancelled';

  ALTER TYPE {{prefix}}.oban_job_state RENAME TO old_oban_job_state;

  CREATE TYPE {{prefix}}.oban_job_state AS ENUM (
    'available',
    'scheduled',
    'executing',
    'retryable',
    'completed',
    'discarded'
  );

  ALTER TABLE {{prefix}}.oban_jobs RENAME COLUMN state TO _state;

  ALTER TABLE {{prefix}}.oban_jobs
    ADD state {{prefix}}.oban_job_state NOT NULL DEFAULT 'available';

  UPDATE {{prefix}}.oban_jobs SET state = _state::text::{{prefix}}.oban_job_state;

  ALTER TABLE {{prefix}}.oban_jobs DROP COLUMN _state;

  DROP TYPE {{prefix}}.old_oban_job_state;
END
$$;

CREATE INDEX IF NOT EXISTS oban_jobs_state_queue_priority_scheduled_at_id_index
  ON {{prefix}}.oban_jobs (state, queue, priority, scheduled_at, id);

CREATE INDEX IF NOT EXISTS oban_jobs_attempted_at_id_index
  ON {{prefix}}.oban_jobs (attempted_at DESC, id)
  WHERE state IN ('completed', 'discarded');
