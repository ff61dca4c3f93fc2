-- The raw ceiling's ack: the leased batch completed, by primary key. No state guard: a
-- guard on the enum column would lead the planner to the state index (see ack_jobs.sql),
-- and the ceiling is the least work a queue can do per job.
UPDATE oban_jobs
SET state = 'completed', completed_at = timezone('UTC', now())
WHERE id = ANY(%(ids)s::bigint[])
