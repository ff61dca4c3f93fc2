-- Ids and the insert time for a COPY of many jobs (the time the column defaults would give).
SELECT nextval(pg_get_serial_sequence('{{prefix}}.oban_jobs', 'id')), timezone('UTC', now())
FROM generate_series(1, %(count)s)
