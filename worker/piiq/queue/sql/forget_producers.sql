-- Remove producer rows dead for longer than the retention parameter that hold no job.
DELETE FROM {{prefix}}.piiq_producers p
WHERE COALESCE(p.stopped_at, p.heartbeat_at) < timezone('UTC', now()) - make_interval(secs => %(retention)s)
  AND NOT EXISTS (
    SELECT 1 FROM {{prefix}}.oban_jobs j WHERE j.state = 'executing' AND j.attempted_by[2] = p.uuid)
RETURNING p.uuid
