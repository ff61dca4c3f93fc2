-- For this transaction only: wait for the WAL flush on commit (the runner's connections
-- set synchronous_commit=off for fetches and acks, whose loss is harmless; a periodic
-- job's insert is not).
SET LOCAL synchronous_commit = on
