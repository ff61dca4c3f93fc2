-- Oban V14 (Oban 2.21, optional): the 'suspended' job state, placed before 'scheduled'
-- (lib/oban/migrations/postgres/v14.ex). Suspended jobs wait until something outside
-- the queue makes them available again; piiq never fetches, stages, rescues or prunes
-- them. ADD VALUE runs inside the migration's transaction (PostgreSQL 12+); nothing in
-- it uses the new label.

DO $$
BEGIN
  IF NOT ('{suspended}' <@ enum_range(NULL::{{prefix}}.oban_job_state)::text[]) THEN
    ALTER TYPE {{prefix}}.oban_job_state ADD VALUE 'suspended' BEFORE 'scheduled';
  END IF;
END$$;
