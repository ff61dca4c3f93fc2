-- Where piiq's own messages about an item are (each set once, the others kept).
UPDATE {{prefix}}.piiq_review_items SET
  tombstone_ts = coalesce(%(tombstone_ts)s, tombstone_ts),
  review_ts = coalesce(%(review_ts)s, review_ts),
  dm_channel = coalesce(%(dm_channel)s, dm_channel),
  dm_ts = coalesce(%(dm_ts)s, dm_ts),
  report_ts = coalesce(%(report_ts)s, report_ts)
WHERE id = %(id)s
