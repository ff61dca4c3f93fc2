-- Oban V08 (up): discarded_at, priority and tags columns; the fetch index on
-- (state, queue, priority, scheduled_at, id); a leaner insert-only notify trigger.

ALTER TABLE {{prefix}}.oban_jobs
  ADD COLUMN IF NOT EXISTS discarded_at timestamp without time zone,
  ADD COLUMN IF NOT EXISTS priority integer,
  ADD COLUMN IF NOT EXISTS tags text[];

-- tags is text[] ({:array, :text} in Oban's V08; earlier Oban releases wrote
-- {:array, :string}, i.e. character varying(255)[]: see ../upgrade_tags.sql).
-- Defaults are set in a second step, as Oban does: rows that already exist keep
-- NULL priority/tags.
ALTER TABLE {{prefix}}.oban_jobs
  ALTER COLUMN priority SET DEFAULT 0,
  ALTER COLUMN tags SET DEFAULT ARRAY[]::text[];

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_queue_state_scheduled_at_id_index;

CREATE INDEX IF NOT EXISTS oban_jobs_state_queue_priority_scheduled_at_id_index
  ON {{prefix}}.oban_jobs (state, queue, priority, scheduled_at, id);

CREATE OR REPLACE FUNCTION {{prefix}}.oban_jobs_notify() RETURNS trigger AS $$
DECLARE
  channel text;
  notice json;
BEGIN
  IF NEW.state = 'available' THEN
    channel = TG_TABLE_SCHEMA || '.oban_insert';
    notice = json_build_object('queue', NEW.queue);

    PERFORM pg_notify(channel, notice::text);
  END IF;

  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS oban_notify ON {{prefix}}.oban_jobs;

CREATE TRIGGER oban_notify
AFTER INSERT ON {{prefix}}.oban_jobs
FOR EACH ROW EXECUTE PROCEDURE {{prefix}}.oban_jobs_notify();
