-- Put jobs this process leased but will not finish back to available at once (shutdown,
-- or a fetch whose result was lost with the connection). The attempt is given back: the
-- job did not fail, it was never run to an end.
UPDATE {{prefix}}.oban_jobs
SET state = 'available', attempt = GREATEST(attempt - 1, 0)
WHERE state = 'executing'
  AND attempted_by[2] = %(producer)s
  AND queue = ANY(%(queues)s::text[])
  AND NOT (id = ANY(%(keep)s::bigint[]))
RETURNING id
