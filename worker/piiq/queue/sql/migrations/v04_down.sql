-- Oban V04 (down): back to V03 (restore oban_wrap_id()).

CREATE OR REPLACE FUNCTION {{prefix}}.oban_wrap_id(value bigint) RETURNS int AS $$
BEGIN
  RETURN (CASE WHEN value > 2147483647 THEN mod(value, 2147483647) ELSE value END)::int;
END;
$$ LANGUAGE plpgsql IMMUTABLE;
