-- Oban V03 (down): back to V02.

ALTER TABLE {{prefix}}.oban_jobs DROP COLUMN IF EXISTS attempted_by;
