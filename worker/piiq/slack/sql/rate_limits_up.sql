-- Slack's rate limits, shared by every worker of a deployment: "method M (in scope S) is
-- blocked in workspace T until U". Written on a 429, read before each call of M.
-- scope is '' for limits Slack counts per workspace, the channel for per-channel ones.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_slack_rate_limits (
  team text NOT NULL,
  method text NOT NULL,
  scope text NOT NULL DEFAULT '',
  blocked_until timestamp without time zone NOT NULL,
  PRIMARY KEY (team, method, scope)
);
