-- Oban V04 (up): drop oban_wrap_id(), left over from the old advisory-lock scheme.

DROP FUNCTION IF EXISTS {{prefix}}.oban_wrap_id(bigint);
