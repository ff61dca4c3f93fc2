-- Oban V06 (up): no-op. It once altered oban_beats, which Oban no longer creates.

DO $$ BEGIN NULL; END $$;
