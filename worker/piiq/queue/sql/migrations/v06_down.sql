-- Oban V06 (down): no-op (see v06_up.sql).

DO $$ BEGIN NULL; END $$;
