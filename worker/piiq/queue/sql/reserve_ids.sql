-- Ids and the insert time for a COPY of many jobs (the time the column defaults would give),
-- as one row: an array parses far faster than one row per id. The sequence is looked up
-- once (pg_get_serial_sequence per row cost 5 us each).
WITH sequence AS MATERIALIZED (
  SELECT pg_get_serial_sequence('{{prefix}}.oban_jobs', 'id')::regclass AS seq
)
SELECT array_agg(nextval(sequence.seq)), timezone('UTC', now())
FROM sequence, generate_series(1, %(count)s)
