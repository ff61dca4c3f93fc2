ALTER TABLE {{prefix}}.oban_jobs RESET (
  autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay,
  autovacuum_analyze_scale_factor, toast.autovacuum_vacuum_scale_factor,
  toast.autovacuum_vacuum_threshold, toast.autovacuum_vacuum_cost_delay
);
DROP TRIGGER IF EXISTS piiq_scrub_final ON {{prefix}}.oban_jobs;
DROP FUNCTION IF EXISTS {{prefix}}.piiq_scrub_final();
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_discarded_at_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_cancelled_at_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_completed_at_index;
DROP FUNCTION IF EXISTS {{prefix}}.piiq_scrubbed(jsonb, jsonb);
DROP TABLE IF EXISTS {{prefix}}.piiq_queues;
DROP TABLE IF EXISTS {{prefix}}.piiq_producers;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_staging_index;
DROP INDEX IF EXISTS {{prefix}}.piiq_oban_jobs_unique_index;
DROP FUNCTION IF EXISTS {{prefix}}.piiq_unique_state(text, {{prefix}}.oban_job_state);
