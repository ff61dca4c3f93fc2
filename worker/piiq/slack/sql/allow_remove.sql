DELETE FROM {{prefix}}.piiq_allowed_values WHERE id = %(id)s
RETURNING id, team, value_hash, entity_type, added_by, added_at, item_id
