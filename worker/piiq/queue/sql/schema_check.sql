-- Whether this schema has the piiq objects the worker relies on: the session-lock
-- columns of piiq_producers and the scrub trigger (both from piiq migrate's piiq_up).
SELECT EXISTS (SELECT 1 FROM pg_trigger
               WHERE tgrelid = '{{prefix}}.oban_jobs'::regclass AND tgname = 'piiq_scrub_final')
