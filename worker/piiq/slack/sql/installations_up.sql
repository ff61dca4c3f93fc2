-- Slack installations (OAuth), one row per app, org, workspace and installing user: what
-- slack_sdk's Installation holds. Tokens are never stored in clear: `sealed` holds them
-- encrypted (AES-256-GCM, {"v", "kid", "nonce", "ct"}), bound to the row's key columns.
-- enterprise_id is '' outside Enterprise Grid; team_id is '' for an org-wide install.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_slack_installations (
  client_id text NOT NULL,
  enterprise_id text NOT NULL DEFAULT '',
  team_id text NOT NULL DEFAULT '',
  user_id text NOT NULL,
  is_enterprise_install boolean NOT NULL DEFAULT false,
  installed_at timestamp without time zone NOT NULL,
  details jsonb NOT NULL,
  sealed jsonb NOT NULL,
  PRIMARY KEY (client_id, enterprise_id, team_id, user_id)
);
CREATE INDEX IF NOT EXISTS piiq_slack_installations_latest
  ON {{prefix}}.piiq_slack_installations (client_id, enterprise_id, team_id, installed_at DESC);
-- OAuth states: issued by /slack/install, consumed once by /slack/oauth_redirect.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_slack_oauth_states (
  state text PRIMARY KEY,
  expires_at timestamp without time zone NOT NULL
);
