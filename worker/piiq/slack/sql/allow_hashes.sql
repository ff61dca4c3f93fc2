SELECT value_hash FROM {{prefix}}.piiq_allowed_values WHERE team = %(team)s
