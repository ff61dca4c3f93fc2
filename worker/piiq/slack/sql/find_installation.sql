-- The workspace's (or org's) installation: the given user's, or the latest one. With
-- `lock`, the row stays locked until the transaction ends (a token refresh holds it, so
-- that pods racing to refresh do it once).
SELECT client_id, enterprise_id, team_id, user_id, is_enterprise_install, installed_at,
       details, sealed
FROM {{prefix}}.piiq_slack_installations
WHERE client_id = %(client_id)s AND enterprise_id = %(enterprise_id)s
  AND team_id = %(team_id)s
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
ORDER BY installed_at DESC
LIMIT 1
