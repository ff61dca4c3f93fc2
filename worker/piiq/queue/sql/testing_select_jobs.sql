-- Jobs matching optional filters; args and meta match partially (JSON containment).
SELECT id, state::text, queue, worker, args, errors, attempt, max_attempts, inserted_at,
       scheduled_at, attempted_at, completed_at, attempted_by, discarded_at, priority, tags,
       meta, cancelled_at
FROM {{prefix}}.oban_jobs
WHERE state::text = ANY(%(states)s::text[])
  AND (%(worker)s::text IS NULL OR worker = %(worker)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(args)s::jsonb IS NULL OR args @> %(args)s::jsonb)
  AND (%(meta)s::jsonb IS NULL OR meta @> %(meta)s::jsonb)
  AND (%(priority)s::int IS NULL OR priority = %(priority)s::int)
  AND (%(tags)s::text[] IS NULL OR tags::text[] @> %(tags)s::text[])
ORDER BY id
