-- Slack answered 429: block the method until Retry-After from now, or longer if another
-- worker already recorded a later end. Returns the seconds the block has left. Blocks
-- that ended an hour ago go at the same time (per-channel scopes would pile up).
WITH ended AS (
  DELETE FROM {{prefix}}.piiq_slack_rate_limits
  WHERE blocked_until < timezone('UTC', now()) - interval '1 hour'
    AND (team, method, scope) <> (%(team)s, %(method)s, %(scope)s)
)
INSERT INTO {{prefix}}.piiq_slack_rate_limits AS limits (team, method, scope, blocked_until)
VALUES (
  %(team)s, %(method)s, %(scope)s,
  timezone('UTC', now()) + make_interval(secs => %(seconds)s)
)
ON CONFLICT (team, method, scope) DO UPDATE
  SET blocked_until = greatest(limits.blocked_until, excluded.blocked_until)
RETURNING extract(epoch FROM blocked_until - timezone('UTC', now()))::float8
