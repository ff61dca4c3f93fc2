INSERT INTO {{prefix}}.piiq_audit_dead_letters (audit_id, sink, job_id, attempts, error)
VALUES (%(audit_id)s, %(sink)s, %(job_id)s, %(attempts)s, %(error)s)
ON CONFLICT (audit_id, sink) DO UPDATE
SET job_id = EXCLUDED.job_id, attempts = EXCLUDED.attempts, error = EXCLUDED.error,
    dead_at = EXCLUDED.dead_at
