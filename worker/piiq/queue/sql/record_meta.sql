-- Job.record: progress saved mid-attempt, so a retry knows which steps are done. Only
-- while the job is still executing under this lease (attempt and leasing process): no
-- row means the lease is gone (rescued, cancelled, handed back, timed out).
UPDATE {{prefix}}.oban_jobs
SET meta = meta || %(fields)s
WHERE id = %(id)s AND state = 'executing'
  AND attempt = %(attempt)s
  AND attempted_by[2] IS NOT DISTINCT FROM %(producer)s::text
RETURNING id
