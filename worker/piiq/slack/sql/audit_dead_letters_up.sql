-- Audit events a sink (webhook, Splunk) refused until the delivery's attempts ran out:
-- kept until `piiq audit replay` queues them again, whatever the queue's pruner removes.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_audit_dead_letters (
  audit_id bigint NOT NULL REFERENCES {{prefix}}.piiq_audit (id) ON DELETE CASCADE,
  sink text NOT NULL,
  job_id bigint NOT NULL,
  attempts integer NOT NULL,
  error text NOT NULL,
  dead_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  PRIMARY KEY (audit_id, sink)
);
