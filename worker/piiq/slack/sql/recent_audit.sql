SELECT * FROM {{prefix}}.piiq_audit ORDER BY id DESC LIMIT %(limit)s
