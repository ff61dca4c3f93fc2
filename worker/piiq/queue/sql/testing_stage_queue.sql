-- drain_queue(with_scheduled=True): make every scheduled/retryable job of a queue available now.
UPDATE {{prefix}}.oban_jobs SET state = 'available'
WHERE queue = %(queue)s AND state IN ('scheduled', 'retryable')
RETURNING id
