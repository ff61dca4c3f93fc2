-- Seconds until the method may be called in this workspace (and scope); no row: now.
SELECT extract(epoch FROM blocked_until - timezone('UTC', now()))::float8
FROM {{prefix}}.piiq_slack_rate_limits
WHERE team = %(team)s AND method = %(method)s AND scope = %(scope)s
  AND blocked_until > timezone('UTC', now())
