-- Oban V01 (down): remove everything V01 created (trigger, function, table with its
-- sequence and indexes, enum). The schema itself is left in place, as Oban does.

DROP TRIGGER IF EXISTS oban_notify ON {{prefix}}.oban_jobs;
DROP FUNCTION IF EXISTS {{prefix}}.oban_jobs_notify();
DROP TABLE IF EXISTS {{prefix}}.oban_jobs;
DROP TYPE IF EXISTS {{prefix}}.oban_job_state;
