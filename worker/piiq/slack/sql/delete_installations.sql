-- An uninstall or a revoked token: the workspace's installations (one user's, or all).
DELETE FROM {{prefix}}.piiq_slack_installations
WHERE client_id = %(client_id)s AND enterprise_id = %(enterprise_id)s
  AND team_id = %(team_id)s
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
