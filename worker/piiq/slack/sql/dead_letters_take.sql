-- `piiq audit replay`: remove the dead letters chosen; the caller queues their deliveries
-- in the same transaction, so a letter is either dead or queued, never neither.
DELETE FROM {{prefix}}.piiq_audit_dead_letters
WHERE (%(sink)s::text IS NULL OR sink = %(sink)s)
  AND (%(ids)s::bigint[] IS NULL OR audit_id = ANY(%(ids)s::bigint[]))
RETURNING audit_id, sink
