-- piiq's additions to Oban's v12 schema. Additive only: new functions and indexes,
-- never a change to Oban's columns, so Elixir Oban and its tools keep working.

-- Whether a job's state is one of the states listed in its unique options
-- (meta.uniq_states, e.g. ',available,scheduled,executing,retryable,completed,').
-- IMMUTABLE so it can stand in a partial index predicate; it compares enum constants
-- only (no enum-to-text cast, which PostgreSQL marks STABLE).
CREATE OR REPLACE FUNCTION {{prefix}}.piiq_unique_state(states text, state {{prefix}}.oban_job_state)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT strpos(states, CASE state
    WHEN 'available' THEN ',available,'
    WHEN 'scheduled' THEN ',scheduled,'
    WHEN 'executing' THEN ',executing,'
    WHEN 'retryable' THEN ',retryable,'
    WHEN 'completed' THEN ',completed,'
    WHEN 'discarded' THEN ',discarded,'
    WHEN 'cancelled' THEN ',cancelled,'
    ELSE ',unknown,' END) > 0
$$;

-- Unique jobs: one live row per key, enforced by PostgreSQL (not lookup-then-insert),
-- so concurrent and bulk inserts cannot race. The key lives in meta (Oban's columns stay
-- as they are); rows leave the index when they move to a state outside their uniq_states.
CREATE UNIQUE INDEX IF NOT EXISTS piiq_oban_jobs_unique_index
  ON {{prefix}}.oban_jobs ((meta->>'uniq_key'))
  WHERE meta ? 'uniq_key' AND {{prefix}}.piiq_unique_state(meta->>'uniq_states', state);

-- Staging scheduled and retryable jobs that are due, without scanning finished rows.
CREATE INDEX IF NOT EXISTS piiq_oban_jobs_staging_index
  ON {{prefix}}.oban_jobs (scheduled_at, id)
  WHERE state IN ('scheduled', 'retryable');

-- Worker processes and their heartbeats: jobs whose process stopped heartbeating are
-- rescued within seconds, and a job held by a live process is never rescued. uuid is the
-- second element of oban_jobs.attempted_by. Rows stay after a process stops (stopped_at)
-- so its jobs are still recognised as piiq's; maintenance removes old ones.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_producers (
  uuid text PRIMARY KEY,
  node text NOT NULL,
  pid integer NOT NULL,
  queues text[] NOT NULL,
  started_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  heartbeat_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  stopped_at timestamp without time zone
);

-- Queues paused or scaled at runtime (`piiq queues pause|resume|scale`): every running
-- worker applies a change when notified on <prefix>.piiq_control, or at its next read, and
-- a worker that starts reads it first. local_limit replaces each worker's own per-process
-- limit for the queue; null keeps it.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_queues (
  name text PRIMARY KEY,
  paused boolean NOT NULL DEFAULT false,
  local_limit integer CHECK (local_limit >= 1),
  updated_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now())
);

-- Args fields listed in meta.scrub, replaced by the word 'scrubbed' when a job reaches a
-- final state, so finished jobs kept for days hold no message text. No hash: a short value
-- (an SSN alone) could be recovered from an unsalted one by trying them all.
CREATE OR REPLACE FUNCTION {{prefix}}.piiq_scrubbed(args jsonb, fields jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT args || COALESCE((
    SELECT jsonb_object_agg(f, 'scrubbed')
    FROM jsonb_array_elements_text(fields) AS f
    WHERE args ? f), '{}'::jsonb)
$$;

-- Pruning by the timestamp of each final state (Oban v12 has no index for it).
CREATE INDEX IF NOT EXISTS piiq_oban_jobs_completed_at_index
  ON {{prefix}}.oban_jobs (completed_at) WHERE state = 'completed';
CREATE INDEX IF NOT EXISTS piiq_oban_jobs_cancelled_at_index
  ON {{prefix}}.oban_jobs (cancelled_at) WHERE state = 'cancelled';
CREATE INDEX IF NOT EXISTS piiq_oban_jobs_discarded_at_index
  ON {{prefix}}.oban_jobs (discarded_at) WHERE state = 'discarded';

-- Fast rescue by database session (rescue_jobs.sql): whether the process holds its
-- session lock, and its heartbeat interval. Rows of older piiq versions have neither.
ALTER TABLE {{prefix}}.piiq_producers
  ADD COLUMN IF NOT EXISTS session_lock boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS heartbeat_interval double precision;

-- Scrub on every move to a final state, whoever makes it: piiq's acks and rescues, Oban
-- Web, Elixir Oban, plain SQL. The fields come from the job's own meta.scrub, written at
-- insert from the worker's sensitive_args. BEFORE, so no row version with the text is
-- ever written in a final state. A trigger on Oban's table, not a change to its columns:
-- Elixir Oban and its tools work as before.
CREATE OR REPLACE FUNCTION {{prefix}}.piiq_scrub_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.args := {{prefix}}.piiq_scrubbed(NEW.args, NEW.meta -> 'scrub');
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS piiq_scrub_final ON {{prefix}}.oban_jobs;
CREATE TRIGGER piiq_scrub_final
BEFORE INSERT OR UPDATE OF state, args, meta ON {{prefix}}.oban_jobs
FOR EACH ROW
WHEN (NEW.state IN ('completed', 'cancelled', 'discarded')
      AND jsonb_typeof(NEW.meta -> 'scrub') = 'array')
EXECUTE FUNCTION {{prefix}}.piiq_scrub_final();

-- Superseded row versions (the executing row, with the text, before its final update)
-- stay in the table's pages until VACUUM removes them. Oban's table is small and churns:
-- vacuum it after 1 % of its rows changed (the default waits for 20 %), with no cost
-- pauses, and its TOAST table (long texts) alike. See docs/queue.md, "What is kept".
ALTER TABLE {{prefix}}.oban_jobs SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 50,
  autovacuum_vacuum_cost_delay = 0,
  autovacuum_analyze_scale_factor = 0.02,
  toast.autovacuum_vacuum_scale_factor = 0.01,
  toast.autovacuum_vacuum_threshold = 50,
  toast.autovacuum_vacuum_cost_delay = 0
);
