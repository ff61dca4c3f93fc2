-- A new install link's state; states past their expiry go at the same time.
WITH expired AS (
  DELETE FROM {{prefix}}.piiq_slack_oauth_states WHERE expires_at < timezone('UTC', now())
)
INSERT INTO {{prefix}}.piiq_slack_oauth_states (state, expires_at)
VALUES (%(state)s, timezone('UTC', now()) + make_interval(secs => %(seconds)s))
