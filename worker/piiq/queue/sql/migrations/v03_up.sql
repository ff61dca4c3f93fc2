-- Oban V03 (up): attempted_by column. (Oban releases since 2.6 no longer create
-- the old oban_beats table here, so neither do we; see NOTES.md.)

ALTER TABLE {{prefix}}.oban_jobs ADD COLUMN IF NOT EXISTS attempted_by text[];
