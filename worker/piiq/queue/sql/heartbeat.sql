UPDATE {{prefix}}.piiq_producers SET heartbeat_at = timezone('UTC', now())
WHERE uuid = %(uuid)s AND stopped_at IS NULL
RETURNING uuid
