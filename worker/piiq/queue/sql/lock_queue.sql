-- Serialise the fetches of one queue that has a global limit, over every process, until
-- the fetch's transaction ends (fetch_jobs.sql then counts the queue's executing jobs).
-- 1885956466 is "piiq" in ASCII plus one (lock_session.sql uses "piiq"); the second half
-- is the hash of the schema and queue: a collision only serialises two queues' fetches.
SELECT pg_advisory_xact_lock(1885956466, hashtext(%(prefix)s || '.' || %(queue)s))
