-- Which of these messages of a channel already have a scan job (from an event, or an
-- earlier history scan), kept in any state: they are not scanned again. The GIN index on
-- args serves the containment test.
SELECT DISTINCT args->>'ts'
FROM {{prefix}}.oban_jobs
WHERE worker = %(worker)s
  AND args @> %(channel)s
  AND args->>'ts' = ANY(%(ts)s)
