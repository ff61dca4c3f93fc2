INSERT INTO {{prefix}}.piiq_allowed_values (team, value_hash, entity_type, item_id, added_by)
SELECT %(team)s, h->>'hash', h->>'type', %(item_id)s, %(added_by)s
FROM jsonb_array_elements(%(value_hashes)s::jsonb) AS h
ON CONFLICT (team, value_hash) DO NOTHING
