-- Each scan (newest first) with its finished pages, the message jobs they enqueued, and
-- its page jobs still to run or given up.
SELECT s.scan, s.team, s.channel, s.oldest, s.latest, s.started_at,
  coalesce(p.pages, 0) AS pages,
  coalesce(p.enqueued, 0) AS enqueued,
  coalesce(p.skipped, 0) AS skipped,
  coalesce(p.threads, 0) AS threads,
  p.last_page_at,
  coalesce(j.pending, 0) AS pending,
  coalesce(j.failed, 0) AS failed
FROM {{prefix}}.piiq_history_scans s
LEFT JOIN LATERAL (
  SELECT count(*) AS pages, sum(enqueued) AS enqueued, sum(skipped) AS skipped,
    sum(threads) AS threads, max(finished_at) AS last_page_at
  FROM {{prefix}}.piiq_history_pages WHERE scan = s.scan
) p ON true
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (
      WHERE state IN ('available', 'scheduled', 'executing', 'retryable')) AS pending,
    count(*) FILTER (WHERE state IN ('discarded', 'cancelled')) AS failed
  FROM {{prefix}}.oban_jobs
  WHERE worker = %(worker)s AND args @> jsonb_build_object('scan', s.scan)
) j ON true
WHERE %(scans)s::text[] IS NULL OR s.scan = ANY(%(scans)s::text[])
ORDER BY s.started_at DESC, s.channel
LIMIT %(limit)s
