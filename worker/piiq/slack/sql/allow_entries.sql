SELECT id, team, value_hash, entity_type, added_by, added_at, item_id
FROM {{prefix}}.piiq_allowed_values
WHERE %(team)s::text IS NULL OR team = %(team)s
ORDER BY team, id
