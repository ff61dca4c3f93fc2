SELECT audit_id, sink, job_id, attempts, error, dead_at
FROM {{prefix}}.piiq_audit_dead_letters
WHERE %(sink)s::text IS NULL OR sink = %(sink)s
ORDER BY audit_id, sink
