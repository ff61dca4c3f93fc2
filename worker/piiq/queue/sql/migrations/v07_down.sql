-- Oban V07 (down): back to V06.

DROP INDEX IF EXISTS {{prefix}}.oban_jobs_attempted_at_id_index;
