-- The item's final state; the kept copy goes with it.
UPDATE {{prefix}}.piiq_review_items
SET state = %(state)s, content = NULL, file_bytes = NULL
WHERE id = %(id)s
