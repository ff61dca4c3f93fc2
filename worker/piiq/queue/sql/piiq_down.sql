DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_discarded_at_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_cancelled_at_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_completed_at_index;
DROP FUNCTION IF EXISTS {{prefix}}.piiq_scrubbed(jsonb, jsonb);
DROP TABLE IF EXISTS {{prefix}}.piiq_producers;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_staging_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_unique_index;
DROP FUNCTION IF EXISTS {{prefix}}.piiq_unique_state(text, {{prefix}}.oban_job_state);
