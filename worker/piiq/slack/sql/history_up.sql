-- History scans (`piiq scan-history`, or a PIIQueue's spec.cron): one row per channel and
-- window, and one per page of it that was finished. A page job that runs again (a worker
-- killed after its commit) finds its page here and does nothing: the scan resumes after
-- the last finished page. No message text is kept here, only counts.
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_history_scans (
  scan text PRIMARY KEY,
  team text NOT NULL,
  channel text NOT NULL,
  oldest bigint NOT NULL,
  latest bigint NOT NULL,
  queue text NOT NULL,
  started_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now())
);
CREATE TABLE IF NOT EXISTS {{prefix}}.piiq_history_pages (
  scan text NOT NULL,
  page text NOT NULL,
  enqueued integer NOT NULL,
  skipped integer NOT NULL,
  threads integer NOT NULL,
  finished_at timestamp without time zone NOT NULL DEFAULT timezone('UTC', now()),
  PRIMARY KEY (scan, page)
);
