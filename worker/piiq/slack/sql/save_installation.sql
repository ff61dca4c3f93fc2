-- One installation: a reinstall by the same user replaces their row.
INSERT INTO {{prefix}}.piiq_slack_installations AS i
  (client_id, enterprise_id, team_id, user_id, is_enterprise_install, installed_at, details, sealed)
VALUES (
  %(client_id)s, %(enterprise_id)s, %(team_id)s, %(user_id)s, %(is_enterprise_install)s,
  %(installed_at)s, %(details)s, %(sealed)s
)
ON CONFLICT (client_id, enterprise_id, team_id, user_id) DO UPDATE
  SET is_enterprise_install = excluded.is_enterprise_install,
      installed_at = excluded.installed_at,
      details = excluded.details,
      sealed = excluded.sealed
