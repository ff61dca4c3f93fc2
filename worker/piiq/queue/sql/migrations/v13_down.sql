-- Oban V13 (down): back to V12.

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_state_discarded_at_index;
DROP INDEX IF EXISTS {{prefix}}.oban_jobs_state_cancelled_at_index;
