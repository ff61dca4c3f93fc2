-- The live jobs holding the given unique keys (the rows an insert conflicted with).
SELECT id, state::text, queue, worker, args, errors, attempt, max_attempts, inserted_at,
       scheduled_at, attempted_at, completed_at, attempted_by, discarded_at, priority, tags,
       meta, cancelled_at
FROM {{prefix}}.oban_jobs
WHERE meta->>'uniq_key' = ANY(%(keys)s::text[])
  AND meta ? 'uniq_key'
  AND {{prefix}}.piiq_unique_state(meta->>'uniq_states', state)
