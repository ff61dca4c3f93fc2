-- Oban V12 (down): back to V11. As in Oban, priority_range comes back NOT VALID, so
-- rows with priority > 3 written at V12 do not block the rollback.

ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT non_negative_priority;

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT priority_range CHECK (priority BETWEEN 0 AND 3) NOT VALID;

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
