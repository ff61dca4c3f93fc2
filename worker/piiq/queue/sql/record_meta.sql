-- Job.record: progress saved mid-attempt, so a retry knows which steps are done.
UPDATE {{prefix}}.oban_jobs
SET meta = meta || %(fields)s
WHERE id = %(id)s AND state = 'executing'
