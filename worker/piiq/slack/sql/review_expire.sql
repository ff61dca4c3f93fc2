-- Kept copies past their retention: deleted (the row, without text, stays for the record).
UPDATE {{prefix}}.piiq_review_items
SET state = 'expired', content = NULL, file_bytes = NULL
WHERE content IS NOT NULL AND keep_until <= timezone('UTC', now()) AND state = 'held'
  AND decided_by_job IS NULL
RETURNING id, team
