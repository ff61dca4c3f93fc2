-- One use: the state is deleted as it is accepted, and only if it has not expired.
DELETE FROM {{prefix}}.piiq_slack_oauth_states
WHERE state = %(state)s AND expires_at >= timezone('UTC', now())
RETURNING state
