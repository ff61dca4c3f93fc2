-- Oban V02 (up): partial scheduled_at index, worker/queue length checks, oban_wrap_id().

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_scheduled_at_index;

CREATE INDEX oban_jobs_scheduled_at_index ON {{prefix}}.oban_jobs (scheduled_at)
  WHERE state IN ('available'::{{prefix}}.oban_job_state, 'scheduled'::{{prefix}}.oban_job_state);

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT worker_length CHECK (char_length(worker) > 0 AND char_length(worker) < 128);

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT queue_length CHECK (char_length(queue) > 0 AND char_length(queue) < 128);

CREATE OR REPLACE FUNCTION {{prefix}}.oban_wrap_id(value bigint) RETURNS int AS $$
BEGIN
  RETURN (CASE WHEN value > 2147483647 THEN mod(value, 2147483647) ELSE value END)::int;
END;
$$ LANGUAGE plpgsql IMMUTABLE;
