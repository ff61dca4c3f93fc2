UPDATE {{prefix}}.piiq_producers SET stopped_at = timezone('UTC', now()) WHERE uuid = %(uuid)s
