-- A worker process holds this session lock on its heartbeat connection for as long as it
-- lives; rescue_jobs.sql tries the same key (1885956465 is "piiq" in ASCII; the second
-- half is the producer uuid's hash: a collision only makes a rescue wait for the
-- heartbeat timeout). Taken before the process registers, so its jobs are never
-- without it.
SELECT pg_advisory_lock(1885956465, hashtext(%(uuid)s::text))
