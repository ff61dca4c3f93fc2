-- The last attempt delivered the event: remove the dead letter it recorded before its POST
-- (only that job's, so a replay's letter for the same event is left alone).
DELETE FROM {{prefix}}.piiq_audit_dead_letters
WHERE audit_id = %(audit_id)s AND sink = %(sink)s AND job_id = %(job_id)s
