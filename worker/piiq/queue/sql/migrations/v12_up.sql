-- Oban V12 (up): relax the priority check to priority >= 0 (added NOT VALID, so
-- existing rows are not scanned) and drop the insert-notify trigger and its function;
-- insert notifications are sent by the application from now on.

ALTER TABLE {{prefix}}.oban_jobs DROP CONSTRAINT priority_range;

ALTER TABLE {{prefix}}.oban_jobs
  ADD CONSTRAINT non_negative_priority CHECK (priority >= 0) NOT VALID;

DROP TRIGGER IF EXISTS oban_notify ON {{prefix}}.oban_jobs;
DROP FUNCTION IF EXISTS {{prefix}}.oban_jobs_notify();
