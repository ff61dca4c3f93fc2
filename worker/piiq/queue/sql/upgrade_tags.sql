-- oban_jobs.tags as Oban's V08 creates it today: text[] with default ARRAY[]::text[].
-- Databases that earlier piiq releases (or Oban releases that wrote {:array, :string})
-- migrated have character varying(255)[]. The values stay as they are and readers of
-- either type (Ecto, Oban Web, psycopg) see the same thing, but PostgreSQL rewrites the
-- table for an array type change: it holds an ACCESS EXCLUSIVE lock on oban_jobs for
-- the rewrite (2.6 s for 100k rows on a 2-core test machine, indexes included; run
-- piiq migrate at a quiet moment).
-- Idempotent: does nothing on text[].
DO $$
BEGIN
  IF (SELECT format_type(a.atttypid, a.atttypmod)
      FROM pg_attribute a
      WHERE a.attrelid = '{{prefix}}.oban_jobs'::regclass AND a.attname = 'tags'
        AND NOT a.attisdropped) = 'character varying(255)[]' THEN
    ALTER TABLE {{prefix}}.oban_jobs
      ALTER COLUMN tags TYPE text[],
      ALTER COLUMN tags SET DEFAULT ARRAY[]::text[];
  END IF;
END
$$;
