-- Jobs per queue and state.
SELECT queue, state::text, count(*) FROM {{prefix}}.oban_jobs GROUP BY queue, state ORDER BY queue, state
