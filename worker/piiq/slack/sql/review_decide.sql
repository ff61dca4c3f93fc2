-- An admin's decision, taken once: by the first job to claim the item in one of the
-- states it may leave (or by a retry of that job). No row: someone decided already.
UPDATE {{prefix}}.piiq_review_items SET
  decision = %(decision)s,
  decided_by = %(decided_by)s,
  decided_by_job = %(job_id)s,
  decided_at = timezone('UTC', now())
WHERE id = %(id)s
  AND ((decided_by_job IS NULL AND state = ANY(%(from_states)s))
       OR decided_by_job = %(job_id)s)
RETURNING *
