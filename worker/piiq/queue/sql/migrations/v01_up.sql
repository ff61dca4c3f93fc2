-- Oban V01 (up): job state enum, oban_jobs table, single-column indexes and the
-- oban_notify trigger (NOTIFY "<prefix>.oban_insert" / "<prefix>.oban_update").

DO $$
BEGIN
  CREATE TYPE {{prefix}}.oban_job_state AS ENUM (
    'available',
    'scheduled',
    'executing',
    'retryable',
    'completed',
    'discarded'
  );
EXCEPTION
  WHEN duplicate_object THEN NULL;
END
$$;

CREATE TABLE IF NOT EXISTS {{prefix}}.oban_jobs (
  id bigserial,
  state {{prefix}}.oban_job_state NOT NULL DEFAULT 'available',
  queue text NOT NULL DEFAULT 'default',
  worker text NOT NULL,
  args jsonb NOT NULL,
  errors jsonb[] NOT NULL DEFAULT ARRAY[]::jsonb[],
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 20,
  inserted_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  scheduled_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  attempted_at timestamp without time zone,
  completed_at timestamp without time zone,
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS oban_jobs_queue_index ON {{prefix}}.oban_jobs (queue);
CREATE INDEX IF NOT EXISTS oban_jobs_state_index ON {{prefix}}.oban_jobs (state);
CREATE INDEX IF NOT EXISTS oban_jobs_scheduled_at_index ON {{prefix}}.oban_jobs (scheduled_at);

-- Channel names are "<schema>.oban_insert" / "<schema>.oban_update" with the bare
-- (unquoted) schema name; TG_TABLE_SCHEMA yields exactly that at run time.
CREATE OR REPLACE FUNCTION {{prefix}}.oban_jobs_notify() RETURNS trigger AS $$
DECLARE
  channel text;
  notice json;
BEGIN
  IF (TG_OP = 'INSERT') THEN
    channel = TG_TABLE_SCHEMA || '.oban_insert';
    notice = json_build_object('queue', NEW.queue, 'state', NEW.state);

    -- No point notifying about a job that is not due to run now
    IF NEW.scheduled_at IS NOT NULL AND NEW.scheduled_at > now() AT TIME ZONE 'utc' THEN
      RETURN NULL;
    END IF;
  ELSE
    channel = TG_TABLE_SCHEMA || '.oban_update';
    notice = json_build_object('queue', NEW.queue, 'new_state', NEW.state, 'old_state', OLD.state);
  END IF;

  PERFORM pg_notify(channel, notice::text);

  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS oban_notify ON {{prefix}}.oban_jobs;

CREATE TRIGGER oban_notify
AFTER INSERT OR UPDATE OF state ON {{prefix}}.oban_jobs
FOR EACH ROW EXECUTE PROCEDURE {{prefix}}.oban_jobs_notify();
