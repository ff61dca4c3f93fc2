-- One row per decision piiq acted on: who, where, which kinds of data, what was done.
-- Never message text, never matched values.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_audit (
  id bigserial PRIMARY KEY,
  recorded_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  job_id bigint NOT NULL,
  team text NOT NULL,
  channel text NOT NULL,
  ts text NOT NULL,
  user_id text NOT NULL,
  subject text NOT NULL,
  decision text NOT NULL,
  entities jsonb NOT NULL,
  action text NOT NULL,
  outcome text NOT NULL,
  UNIQUE (job_id, subject)
);

-- A file piiq could not (fully) read is an outcome of its own (the policy's unscannable
-- setting acted on it). Replaced, not added, so tables made before it accept it too.
ALTER TABLE {{prefix}}.piiq_audit DROP CONSTRAINT IF EXISTS piiq_audit_decision_check;
ALTER TABLE {{prefix}}.piiq_audit ADD CONSTRAINT piiq_audit_decision_check
  CHECK (decision IN ('delete', 'quarantine', 'warn', 'not_scanned', 'partly_scanned'));

CREATE INDEX IF NOT EXISTS piiq_audit_recorded_at_index ON {{prefix}}.piiq_audit (recorded_at);
